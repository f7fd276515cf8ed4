package coord

import (
	"context"
	"fmt"
	"time"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// sweeper expires leases of silent workers and overdue attempts, and
// wakes failed microtasks whose retry time has come.
func (c *Coordinator) sweeper(ctx context.Context) {
	period := min(max(c.cfg.LeaseTTL/20, 20*time.Millisecond), 500*time.Millisecond)
	t := time.NewTimer(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.sweepKick:
		}
		// Sleep until the next retry is due, at most one period.
		next := period
		c.mu.Lock()
		if due, ok := c.wakes.peek(); ok {
			next = min(next, max(time.Until(due), time.Millisecond))
		}
		c.mu.Unlock()
		t.Reset(next)
		if c.Leading() {
			c.mu.Lock()
			c.wakeForStragglersLocked()
			if len(c.avoid) > 0 {
				c.forgetAvoidLocked()
			}
			c.mu.Unlock()
		}
		if c.Leading() && c.sweepDue() {
			if err := c.Sweep(ctx); err != nil && ctx.Err() == nil {
				c.log.Error("sweep", "err", err)
			}
		}
	}
}

// sweepDue reports whether Sweep has anything to do, without a write.
func (c *Coordinator) sweepDue() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	if t, ok := c.wakes.peek(); ok && !t.After(now) {
		return true
	}
	for _, w := range c.workers {
		if w.info.State != task.WorkerLost && now.Sub(w.info.LastSeen) > c.cfg.LeaseTTL {
			return true
		}
	}
	for _, m := range []map[int64]*attempt{c.attempts, c.backups} {
		for _, a := range m {
			if now.After(a.deadline) {
				return true
			}
		}
	}
	return false
}

// Sweep runs the periodic duties now: workers silent for longer than the
// lease TTL are lost and their microtasks go back to the queue (counting
// as a failed attempt, so a microtask that kills its workers ends dead);
// attempts past their stage's timeout plus the TTL are given up; failed
// microtasks due for retry become ready.
func (c *Coordinator) Sweep(ctx context.Context) error {
	return c.do(ctx, func(ctx context.Context, tx store.Tx) error {
		now := c.clock.Now()
		for _, w := range c.workers {
			if w.info.State == task.WorkerLost || now.Sub(w.info.LastSeen) <= c.cfg.LeaseTTL {
				continue
			}
			w.info.State = task.WorkerLost
			w.dirty = true
			for _, j := range c.jobs {
				for _, s := range j.stages {
					delete(s.affinity, w.info.ID)
				}
			}
			c.log.Warn("worker lost", "worker", w.info.ID, "silent", now.Sub(w.info.LastSeen).Round(time.Millisecond).String(), "leases", len(w.leases))
			silent := now.Sub(w.info.LastSeen).Round(time.Millisecond)
			for _, a := range w.leases {
				// The worker died or hung while running a: count it
				// against a's attempts, so a microtask that kills its
				// workers ends dead after its retries (poison).
				c.blameLocked(a, w)
				msg := fmt.Sprintf("crash: worker %s stopped responding while running it (silent for %v, lease TTL %v)", w.info.Name, silent, c.cfg.LeaseTTL)
				c.cfg.Hooks.leaseExpired("worker_lost")
				if _, err := c.commitFailure(ctx, tx, a, msg, false, 0, now); err != nil {
					return err
				}
			}
			if err := tx.WorkerUpsert(ctx, &w.info); err != nil {
				return err
			}
			w.dirty, w.persistedAt = false, now
		}
		var overdue []*attempt
		for _, m := range []map[int64]*attempt{c.attempts, c.backups} {
			for _, a := range m {
				if now.After(a.deadline) {
					overdue = append(overdue, a)
				}
			}
		}
		for _, a := range overdue {
			if a.worker.leases[a.taskID] != a {
				continue // ended along with another attempt
			}
			msg := fmt.Sprintf("timeout: no result %v after the lease began (stage timeout %v)", now.Sub(a.started).Round(time.Millisecond), a.job.stages[a.stage].def.Timeout.D())
			a.worker.notify(cancelNotice(a))
			c.cfg.Hooks.leaseExpired("timeout")
			c.log.Warn("microtask timed out", "job", a.job.job.ID, "stage", a.job.stages[a.stage].def.Name, "task", a.taskID, "worker", a.worker.info.ID)
			if _, err := c.commitFailure(ctx, tx, a, msg, false, 0, now); err != nil {
				return err
			}
		}
		if t, ok := c.wakes.peek(); ok && !t.After(now) {
			for t, ok := c.wakes.peek(); ok && !t.After(now); t, ok = c.wakes.peek() {
				c.wakes.pop()
			}
			woke, next, err := tx.TaskWake(ctx, now)
			if err != nil {
				return err
			}
			if !next.IsZero() {
				c.wakes.push(next)
			}
			for _, sc := range woke {
				if j := c.jobs[sc.JobID]; j != nil && sc.Stage < len(j.stages) {
					s := j.stages[sc.Stage]
					s.counts.Failed -= sc.N
					s.counts.Ready += sc.N
					c.newWork = true
				}
			}
		}
		return c.settle(ctx, tx)
	})
}
