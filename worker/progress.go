package worker

import (
	"time"

	"github.com/myriadhq/myriad/api"
)

// progressEvery bounds how often recorded metric points end a long poll
// to go out: a handler that records a point per batch would otherwise
// make a round trip per point.
const progressEvery = time.Second

// maxProgressPoints bounds the points of one microtask sent as progress:
// the coordinator keeps no more of a completion's
// (coord.MaxMetricsPerCompletion), and a handler that records a point per
// batch would otherwise resend an ever longer list every second.
const maxProgressPoints = 10_000

// metricRecorded is called by a running Task after it records a point:
// the point goes out with a round trip started at once, or, if one was
// started for progress less than progressEvery ago, progressEvery after
// that one (a single timer for all the points recorded meanwhile).
func (w *Worker) metricRecorded() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.progressTimer != nil {
		return // a round trip is already due for them
	}
	wait := progressEvery - time.Since(w.progressKick)
	if wait <= 0 {
		w.progressKick = time.Now()
		w.kick()
		return
	}
	w.progressTimer = time.AfterFunc(wait, func() {
		w.mu.Lock()
		w.progressTimer = nil
		w.progressKick = time.Now()
		w.mu.Unlock()
		w.kick()
	})
}

// progress adds to req every running microtask that recorded points
// since they were last sent, all of its points; sent, called once the
// coordinator has answered, marks them sent.
func (w *Worker) progress(req *api.SyncRequest) (sent func()) {
	type mark struct {
		r *run
		n int
	}
	var marks []mark
	for id, r := range w.running {
		t := r.task.Load()
		if t == nil || min(t.metricCount(), maxProgressPoints) == r.sent {
			continue
		}
		points := t.Metrics()
		points = points[:min(len(points), maxProgressPoints)]
		req.Progress = append(req.Progress, api.TaskProgress{Task: id, Token: r.lease.Token, Metrics: points})
		marks = append(marks, mark{r, len(points)})
	}
	return func() {
		for _, m := range marks {
			m.r.sent = m.n
		}
	}
}
