package coord

import (
	"slices"
	"time"

	"github.com/myriadhq/myriad/sched"
	"github.com/myriadhq/myriad/task"
)

// Retries run on other workers: a microtask whose attempt failed on a
// worker (an error, a timeout, a crash of its handler or of the whole
// worker) is not leased to that worker again while another live worker
// can run it. The memory is per coordinator, bounded, and lost on
// restart; it steers retries, it does not decide them.

// avoidEntry lists the workers a failed microtask should not go back to.
type avoidEntry struct {
	job     *jobRT
	stage   int
	workers []string
}

// Bounds of the avoid lists.
const (
	maxAvoid        = 100_000
	maxAvoidWorkers = 16
)

// avoidLocked records that a's worker failed a's microtask.
func (c *Coordinator) avoidLocked(a *attempt) {
	e := c.avoid[a.taskID]
	if e == nil {
		if len(c.avoid) >= maxAvoid {
			return
		}
		e = &avoidEntry{job: a.job, stage: a.stage}
		c.avoid[a.taskID] = e
	}
	if id := a.worker.info.ID; !slices.Contains(e.workers, id) && len(e.workers) < maxAvoidWorkers {
		e.workers = append(e.workers, id)
	}
}

// skipLocked lists the ready microtasks of stage s that w should not be
// given: it failed them before, and another live worker can run them.
func (c *Coordinator) skipLocked(w *workerRT, j *jobRT, s *stageRT, now time.Time) []int64 {
	var out []int64
	for id, e := range c.avoid {
		if e.job != j || e.stage != s.idx || !slices.Contains(e.workers, w.info.ID) {
			continue
		}
		if c.otherWorkerLocked(e, s, now) {
			out = append(out, id)
		}
	}
	return out
}

// otherWorkerLocked reports whether a live worker not in e can run
// stage s.
func (c *Coordinator) otherWorkerLocked(e *avoidEntry, s *stageRT, now time.Time) bool {
	q := &sched.Queue{Op: s.def.Op, Labels: s.def.Labels}
	for _, o := range c.workers {
		if o.info.State != task.WorkerAlive || now.Sub(o.info.LastSeen) > c.cfg.LeaseTTL || slices.Contains(e.workers, o.info.ID) {
			continue
		}
		if sched.Feasible(&sched.Worker{Ops: o.ops, Labels: o.info.Labels}, q) {
			return true
		}
	}
	return false
}

// forgetAvoidLocked drops the entries of microtasks of jobs no longer
// active.
func (c *Coordinator) forgetAvoidLocked() {
	for id, e := range c.avoid {
		if c.jobs[e.job.job.ID] != e.job {
			delete(c.avoid, id)
		}
	}
}
