package coord

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// dropAttemptLocked forgets a lease that has ended.
func (c *Coordinator) dropAttemptLocked(a *attempt) {
	if a.worker.leases[a.taskID] == a {
		delete(a.worker.leases, a.taskID)
	}
	if a.backup {
		if c.backups[a.taskID] == a {
			delete(c.backups, a.taskID)
		}
		return
	}
	if c.attempts[a.taskID] == a {
		delete(c.attempts, a.taskID)
	}
	a.job.running--
	a.job.stages[a.stage].counts.Running--
	a.job.dirty = true
}

// commitDone commits a completion and moves its output downstream. It
// reports false if the store refused the token.
func (c *Coordinator) commitDone(ctx context.Context, tx store.Tx, a *attempt, out []task.Item, metrics []task.MetricPoint, runtime time.Duration, now time.Time) (bool, error) {
	ok, err := tx.TaskFinish(ctx, &store.TaskFinishParams{ID: a.taskID, Token: a.token, State: task.Done, Output: out, Runtime: runtime, Now: now})
	if err != nil || !ok {
		return ok, err
	}
	// Stored in the completion's transaction, after the fencing check: a
	// retried or stale attempt's curve is never stored twice.
	if points := metricPoints(metrics, a.job.stages[a.stage].def.Name); len(points) > 0 {
		if err := tx.MetricAdd(ctx, a.job.job.ID, points); err != nil {
			return false, err
		}
	}
	c.endTaskLocked(a)
	delete(c.blamed, a.taskID)
	delete(c.avoid, a.taskID)
	j, s := a.job, a.job.stages[a.stage]
	s.counts.Done++
	if typ, ok := s.recent(); ok && typ > 0 {
		s.observePace(a.worker.info.ID, now.Sub(a.started).Seconds()/typ)
	}
	s.observe(now.Sub(a.started).Seconds())
	c.cfg.Hooks.taskFinished(s.def.Op, task.Done, now.Sub(a.started))
	c.log.Debug("microtask done", "job", j.job.ID, "stage", s.def.Name, "task", a.taskID, "attempt", a.number, "worker", a.worker.info.ID, "items_out", len(out))
	s.itemsIn += int64(a.items)
	s.itemsOut += int64(len(out))
	a.worker.info.Done++
	j.rate.add(now, c.jobDone(j))
	if len(s.downstream) > 0 {
		kept := keptItems(out)
		for _, d := range s.downstream {
			if j.stages[d].def.Kind == task.Map {
				if err := c.route(ctx, tx, j, j.stages[d], kept, a.worker.info.ID, now); err != nil {
					return false, err
				}
			}
		}
	}
	return true, nil
}

// keptItems is out without the items an operator dropped.
func keptItems(out []task.Item) []task.Item {
	for i := range out {
		if out[i].Dropped != "" {
			kept := make([]task.Item, 0, len(out)-1)
			for _, it := range out {
				if it.Dropped == "" {
					kept = append(kept, it)
				}
			}
			return kept
		}
	}
	return out
}

func (c *Coordinator) jobDone(j *jobRT) int64 {
	var n int64
	for _, s := range j.stages {
		n += s.counts.Done
	}
	return n
}

// commitFailure ends an attempt that failed: it is retried after a backoff
// unless it was the last attempt or the failure is permanent, in which
// case the microtask is dead with its error kept.
func (c *Coordinator) commitFailure(ctx context.Context, tx store.Tx, a *attempt, msg string, permanent bool, runtime time.Duration, now time.Time) (bool, error) {
	s := a.job.stages[a.stage]
	if handled, ok, err := c.dropOneOfTwoLocked(ctx, tx, a); handled {
		if ok {
			a.worker.info.Failures++
			c.log.Info("one of two attempts failed; the other carries on", "job", a.job.job.ID, "stage", s.def.Name, "task", a.taskID,
				"worker", a.worker.info.ID, "copy", a.backup, "err", msg)
		}
		return ok, err
	}
	p := &store.TaskFinishParams{ID: a.taskID, Token: a.token, Error: msg, Runtime: runtime, Now: now}
	// A speculative copy may have taken down a worker too: every worker
	// lost while running the microtask counts as an attempt, so it never
	// takes down more than retries+1 workers.
	used := max(a.number, len(c.blamed[a.taskID]))
	if permanent || used > s.def.Retries {
		p.State = task.Dead
		if blamed := c.blamedLocked(a.taskID); !permanent && used > 1 {
			// The error keeps its kind first (crash:, timeout:, exit:).
			p.Error = fmt.Sprintf("%s [dead after %d attempts%s]", msg, used, blamed)
		}
	} else {
		p.State = task.Failed
		p.NotBefore = now.Add(c.backoffLocked(s.def.Backoff.D(), a.number))
	}
	ok, err := tx.TaskFinish(ctx, p)
	if err != nil || !ok {
		return ok, err
	}
	c.endTaskLocked(a)
	a.worker.info.Failures++
	s.counts.Add(p.State, 1)
	if p.State == task.Dead {
		delete(c.avoid, a.taskID)
	} else {
		c.avoidLocked(a)
	}
	c.cfg.Hooks.taskFinished(s.def.Op, p.State, now.Sub(a.started))
	if p.State == task.Failed {
		c.cfg.Hooks.retried(s.def.Op)
		if due, ok := c.wakes.peek(); !ok || p.NotBefore.Before(due) {
			select {
			case c.sweepKick <- struct{}{}:
			default:
			}
		}
		c.wakes.push(p.NotBefore)
	}
	c.log.Info("microtask failed", "job", a.job.job.ID, "stage", s.def.Name, "task", a.taskID, "attempt", a.number,
		"worker", a.worker.info.ID, "state", p.State.String(), "err", msg)
	return true, nil
}

// commitRelease puts a microtask back in the queue without counting the
// attempt (the worker handed it back, or lost it in transit).
func (c *Coordinator) commitRelease(ctx context.Context, tx store.Tx, a *attempt, reason string, now time.Time) (bool, error) {
	if handled, ok, err := c.dropOneOfTwoLocked(ctx, tx, a); handled {
		return ok, err
	}
	ok, err := tx.TaskFinish(ctx, &store.TaskFinishParams{ID: a.taskID, Token: a.token, State: task.Ready, Refund: true, Error: reason, Now: now})
	if err != nil || !ok {
		return ok, err
	}
	c.endTaskLocked(a)
	a.job.stages[a.stage].counts.Ready++
	c.newWork = true
	c.log.Debug("microtask released", "job", a.job.job.ID, "stage", a.job.stages[a.stage].def.Name, "task", a.taskID, "worker", a.worker.info.ID, "reason", reason)
	return true, nil
}

// backoffLocked is the delay before retry n+1: base·2ⁿ⁻¹, capped, with
// full jitter in [½, 1½) so that many failures do not retry in lockstep.
func (c *Coordinator) backoffLocked(base time.Duration, n int) time.Duration {
	d := float64(base) * math.Pow(2, float64(max(n-1, 0)))
	d = math.Min(d, float64(c.cfg.BackoffMax))
	return time.Duration(d * (0.5 + c.rng.Float64()))
}

// route gives a map stage new items that producer made: full microtasks at
// once (hinted to run on the producer, whose cache holds their blobs), the
// rest buffered until enough arrive or the stage's inputs are all done.
func (c *Coordinator) route(ctx context.Context, tx store.Tx, j *jobRT, s *stageRT, items []task.Item, producer string, now time.Time) error {
	if len(items) == 0 {
		return nil
	}
	b := s.def.Batch
	if s.counts.Pending == 0 {
		full := len(items) / b * b
		ids, err := c.insertIDs(ctx, tx, j, s, chunk(items[:full], b), now)
		if err != nil {
			return err
		}
		if !c.cfg.NoLocality && len(ids) > 0 {
			s.prefer(producer, ids)
		}
		items = items[full:]
		if len(items) == 0 {
			return nil
		}
	}
	if err := tx.PendingAdd(ctx, j.job.ID, s.idx, items); err != nil {
		return err
	}
	s.counts.Pending += int64(len(items))
	for s.counts.Pending >= int64(b) {
		taken, err := tx.PendingTake(ctx, j.job.ID, s.idx, b)
		if err != nil {
			return err
		}
		if len(taken) == 0 && c.shared() {
			s.counts.Pending = 0 // another coordinator took them
			break
		}
		if len(taken) == 0 {
			return fmt.Errorf("stage %s of job %s: %d items buffered but none found", s.def.Name, j.job.ID, s.counts.Pending)
		}
		s.counts.Pending -= int64(len(taken))
		if err := c.insert(ctx, tx, j, s, [][]task.Item{taken}, now); err != nil {
			return err
		}
	}
	return nil
}

func (c *Coordinator) insert(ctx context.Context, tx store.Tx, j *jobRT, s *stageRT, inputs [][]task.Item, now time.Time) error {
	_, err := c.insertIDs(ctx, tx, j, s, inputs, now)
	return err
}

func (c *Coordinator) insertIDs(ctx context.Context, tx store.Tx, j *jobRT, s *stageRT, inputs [][]task.Item, now time.Time) ([]int64, error) {
	if len(inputs) == 0 {
		return nil, nil
	}
	p := &store.TaskInsertParams{JobID: j.job.ID, Stage: s.idx, Now: now, Inputs: inputs}
	if err := tx.TaskInsert(ctx, p); err != nil {
		return nil, err
	}
	s.counts.Ready += int64(len(inputs))
	c.newWork = true
	return p.IDs, nil
}

// settle closes what is complete in every changed job: it flushes
// buffered items of stages whose inputs are done, starts reduce stages
// whose inputs are done, marks stages done, and ends jobs.
func (c *Coordinator) settle(ctx context.Context, tx store.Tx) error {
	for _, j := range c.jobs {
		if !j.dirty {
			continue
		}
		j.dirty = false
		if err := c.settleJob(ctx, tx, j); err != nil {
			return err
		}
	}
	return nil
}

func (c *Coordinator) settleJob(ctx context.Context, tx store.Tx, j *jobRT) error {
	now := c.clock.Now()
	allDone, dead := true, int64(0)
	for _, i := range j.topo {
		s := j.stages[i]
		dead += s.counts.Dead
		if s.state == task.StageDone {
			continue
		}
		allDone = false
		if !c.inputsDone(j, s) {
			continue
		}
		if c.shared() && mayClose(s) {
			// Decide from the store, under the stage's lock, so that
			// exactly one coordinator flushes, starts or closes it.
			if err := c.lockStageLocked(ctx, tx, j, s); err != nil {
				return err
			}
			if s.state == task.StageDone {
				return c.settleJob(ctx, tx, j)
			}
		}
		switch {
		case s.def.Kind == task.Map && s.counts.Pending > 0:
			items, err := tx.PendingTake(ctx, j.job.ID, s.idx, int(s.counts.Pending))
			if err != nil {
				return err
			}
			s.counts.Pending = 0
			if err := c.insert(ctx, tx, j, s, chunk(items, s.def.Batch), now); err != nil {
				return err
			}
		case s.state == task.StageWaiting:
			if err := c.insert(ctx, tx, j, s, [][]task.Item{nil}, now); err != nil {
				return err
			}
			if err := tx.StageSetState(ctx, j.job.ID, s.idx, task.StageRunning); err != nil {
				return err
			}
			s.state = task.StageRunning
		case s.counts.Open() == 0:
			if err := tx.StageSetState(ctx, j.job.ID, s.idx, task.StageDone); err != nil {
				return err
			}
			s.state = task.StageDone
			c.log.Info("stage done", "job", j.job.ID, "stage", s.def.Name, "done", s.counts.Done, "dead", s.counts.Dead)
			return c.settleJob(ctx, tx, j) // later stages may now be ready to close
		}
	}
	if !allDone {
		return nil
	}
	state := task.JobCompleted
	if dead > 0 {
		state = task.JobCompletedWithErrors
	}
	ended, err := tx.JobFinish(ctx, j.job.ID, state, now)
	if err != nil {
		return err
	}
	if !ended { // another coordinator ended it first
		delete(c.jobs, j.job.ID)
		c.signalJobsLocked()
		return nil
	}
	j.job.State = state
	fin := now.UTC()
	j.job.FinishedAt = &fin
	delete(c.jobs, j.job.ID)
	c.signalJobsLocked()
	c.log.Info("job finished", "job", j.job.ID, "state", string(state), "elapsed", now.Sub(j.job.CreatedAt).Round(time.Millisecond).String())
	return nil
}

func (c *Coordinator) inputsDone(j *jobRT, s *stageRT) bool {
	for _, u := range s.upstream {
		if j.stages[u].state != task.StageDone {
			return false
		}
	}
	return true
}

// cancelNotice tells a worker, on its next request, to stop a lease.
func cancelNotice(a *attempt) api.TaskRef { return api.TaskRef{Task: a.taskID, Token: a.token} }
