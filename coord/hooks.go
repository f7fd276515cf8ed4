package coord

import (
	"time"

	"github.com/myriadhq/myriad/task"
)

// Hooks are called as the coordinator works, so that metrics can be kept
// outside this package (server/metrics.go). Each field may be nil. They
// run on the coordinator's writer with its lock held, so they must be
// quick and must not call back into the coordinator. A batch whose
// transaction fails is rerun, so a hook may see an event twice then.
type Hooks struct {
	// TaskFinished: an attempt of a microtask of operator op ended in
	// state (Done, Failed or Dead) after d from lease to commit.
	TaskFinished func(op string, state task.State, d time.Duration)
	// LeaseExpired: a lease was given up because its worker went silent
	// (reason "worker_lost") or it ran past its timeout ("timeout").
	LeaseExpired func(reason string)
	// Retried: a failed microtask of operator op was scheduled to run
	// again after a backoff.
	Retried func(op string)
	// Revived: n dead microtasks were put back in the queue by Retry.
	Revived func(n int64)
	// StoreTx: one write transaction took d (err is nil if it committed).
	StoreTx func(d time.Duration, err error)
}

func (h *Hooks) taskFinished(op string, state task.State, d time.Duration) {
	if h.TaskFinished != nil {
		h.TaskFinished(op, state, d)
	}
}

func (h *Hooks) leaseExpired(reason string) {
	if h.LeaseExpired != nil {
		h.LeaseExpired(reason)
	}
}

func (h *Hooks) retried(op string) {
	if h.Retried != nil {
		h.Retried(op)
	}
}

func (h *Hooks) storeTx(d time.Duration, err error) {
	if h.StoreTx != nil {
		h.StoreTx(d, err)
	}
}

func (h *Hooks) revived(n int64) {
	if h.Revived != nil && n > 0 {
		h.Revived(n)
	}
}
