package coord

import (
	"sort"

	"github.com/myriadhq/myriad/api"
)

// ActiveJobs returns the live status of every job this coordinator runs
// (counts, rate, ETA; without the dead microtasks' errors, which Job
// adds), oldest first. It reads only memory, so the dashboard's event
// stream and /metrics may call it often.
func (c *Coordinator) ActiveJobs() []*api.JobStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	type ranked struct {
		seq int64
		st  *api.JobStatus
	}
	c.opMeans = c.allOpMeansLocked()
	defer func() { c.opMeans = nil }()
	rs := make([]ranked, 0, len(c.jobs))
	for _, j := range c.jobs {
		rs = append(rs, ranked{j.seq, c.liveStatusLocked(j)})
	}
	sort.Slice(rs, func(a, b int) bool { return rs[a].seq < rs[b].seq })
	out := make([]*api.JobStatus, len(rs))
	for i, r := range rs {
		out[i] = r.st
	}
	return out
}

// Stopped is closed when the coordinator stops, so that long-lived
// responses (the event stream) can end before the HTTP server drains.
func (c *Coordinator) Stopped() <-chan struct{} { return c.stopped }

// allOpMeansLocked is opMeanLocked for every operator at once.
func (c *Coordinator) allOpMeansLocked() map[string]float64 {
	type acc struct {
		sum float64
		n   int64
	}
	accs := map[string]*acc{}
	for _, j := range c.jobs {
		for _, s := range j.stages {
			a := accs[s.def.Op]
			if a == nil {
				a = &acc{}
				accs[s.def.Op] = a
			}
			a.sum += s.sumSec
			a.n += s.doneN
		}
	}
	out := make(map[string]float64, len(accs))
	for op, a := range accs {
		if a.n > 0 {
			out[op] = a.sum / float64(a.n)
		}
	}
	return out
}
