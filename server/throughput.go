package server

import (
	"context"
	"sync"
	"time"

	"github.com/myriadhq/myriad/coord"
)

// Throughput history for the dashboard's job page, so that a page
// opened in the middle of a job shows how its pace went until then.
const (
	throughputEvery  = 2 * time.Second
	throughputKeep   = 300              // samples per job: 10 minutes
	throughputLinger = 10 * time.Minute // how long an ended job's history stays
)

// Throughput is the data of a "throughput" event: samples of a job's
// done microtasks over time (Unix seconds), oldest first.
type Throughput struct {
	T    []float64 `json:"t"`
	Done []int64   `json:"done"`
}

// throughputLog samples the done count of every active job.
type throughputLog struct {
	mu   sync.Mutex
	jobs map[string]*jobSamples
}

type jobSamples struct {
	t    []float64
	done []int64
	seen time.Time // last time the job was active
}

func newThroughputLog() *throughputLog { return &throughputLog{jobs: map[string]*jobSamples{}} }

// run samples c until ctx ends.
func (l *throughputLog) run(ctx context.Context, c *coord.Coordinator) {
	tick := time.NewTicker(throughputEvery)
	defer tick.Stop()
	for {
		l.sample(c, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-c.Stopped():
			return
		case <-tick.C:
		}
	}
}

func (l *throughputLog) sample(c *coord.Coordinator, now time.Time) {
	active := c.ActiveJobs()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, st := range active {
		s := l.jobs[st.ID]
		if s == nil {
			s = &jobSamples{}
			l.jobs[st.ID] = s
		}
		if len(s.t) == throughputKeep {
			s.t, s.done = s.t[1:], s.done[1:]
		}
		s.t = append(s.t, float64(now.UnixMilli())/1000)
		s.done = append(s.done, st.Counts.Done)
		s.seen = now
	}
	for id, s := range l.jobs {
		if now.Sub(s.seen) > throughputLinger {
			delete(l.jobs, id)
		}
	}
}

// get returns a copy of a job's samples (nil if there are none).
func (l *throughputLog) get(id string) *Throughput {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.jobs[id]
	if s == nil {
		return nil
	}
	return &Throughput{T: append([]float64(nil), s.t...), Done: append([]int64(nil), s.done...)}
}
