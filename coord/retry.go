package coord

import (
	"context"
	"errors"
	"fmt"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// Retry puts a job's dead microtasks back in the queue with a fresh
// attempt budget and reports how many it revived. A job that has ended
// completed_with_errors runs again: it and the stages that held dead
// microtasks are reopened, and so are the map stages downstream of them,
// which take the revived microtasks' output as it comes. A reduce stage
// downstream that has already merged its inputs cannot take more, so
// Retry then refuses with ErrConflict (resubmit the job instead). A
// canceled or completed job is ErrConflict too; an unknown one
// ErrNotFound. A job with no dead microtask is left as it is (0, nil).
func (c *Coordinator) Retry(ctx context.Context, id string) (int64, error) {
	var n int64
	var refusal error
	err := c.do(ctx, func(ctx context.Context, tx store.Tx) error {
		n, refusal = 0, nil
		j := c.jobs[id]
		if c.shared() {
			// Another coordinator may have ended the job, or changed its
			// counts, since this one last refreshed: go by the store.
			var err error
			if j, err = c.freshJobLocked(ctx, id); err != nil {
				return err
			}
		}
		reopen := j == nil
		if reopen {
			var err error
			if j, refusal, err = c.endedJobLocked(ctx, id); err != nil || refusal != nil {
				return err
			}
		}
		deadIn := map[int]bool{}
		for i, s := range j.stages {
			if s.counts.Dead > 0 {
				deadIn[i] = true
			}
		}
		if len(deadIn) == 0 {
			return nil
		}
		// The stages downstream of those with dead microtasks.
		below := map[int]bool{}
		var walk func(i int)
		walk = func(i int) {
			for _, d := range j.stages[i].downstream {
				if !below[d] {
					below[d] = true
					walk(d)
				}
			}
		}
		for i := range deadIn {
			walk(i)
		}
		for i := range below {
			if s := j.stages[i]; !deadIn[i] && s.def.Kind == task.Reduce && s.state != task.StageWaiting {
				refusal = fmt.Errorf("job %s: stage %s has already merged its inputs, so it cannot take the retried microtasks' output; resubmit the job: %w", id, s.def.Name, ErrConflict)
				return nil
			}
		}
		revived, err := tx.TaskRevive(ctx, id)
		if err != nil {
			return err
		}
		now := c.clock.Now()
		if reopen {
			if err := tx.JobSetState(ctx, id, task.JobRunning, now); err != nil {
				return err
			}
			j.job.State, j.job.FinishedAt = task.JobRunning, nil
			c.jobs[id] = j
		}
		for i, s := range j.stages {
			if (deadIn[i] || below[i]) && s.state == task.StageDone {
				if err := tx.StageSetState(ctx, id, i, task.StageRunning); err != nil {
					return err
				}
				s.state = task.StageRunning
			}
		}
		for _, sc := range revived {
			if sc.Stage < len(j.stages) {
				s := j.stages[sc.Stage]
				s.counts.Dead -= sc.N
				s.counts.Ready += sc.N
				n += sc.N
			}
		}
		c.cfg.Hooks.revived(n)
		c.newWork, j.dirty = true, true
		c.signalJobsLocked()
		c.log.Info("dead microtasks retried", "job", id, "revived", n, "reopened", reopen)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, refusal
}

// endedJobLocked loads a job that is no longer active so that Retry can
// reopen it; it returns a refusal (not found, or a state that cannot be
// retried) as its second result.
func (c *Coordinator) endedJobLocked(ctx context.Context, id string) (*jobRT, error, error) {
	job, err := c.st.JobGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("job %s: %w", id, ErrNotFound), nil
	}
	if err != nil {
		return nil, nil, err
	}
	if job.State != task.JobCompletedWithErrors {
		return nil, fmt.Errorf("job %s is %s: only a job that completed with errors can be retried: %w", id, job.State, ErrConflict), nil
	}
	states, err := c.st.StageStates(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	counts, err := c.st.TaskCounts(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	j := c.newJobRT(job)
	for i, s := range j.stages {
		if i < len(states) && i < len(counts) {
			s.state, s.counts = states[i], counts[i]
		}
	}
	return j, nil, nil
}

// freshJobLocked returns the cached job with its stage states and counts
// as the store has them now, loading it if it is not cached; nil if the
// store says it is not running.
func (c *Coordinator) freshJobLocked(ctx context.Context, id string) (*jobRT, error) {
	job, err := c.st.JobGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && job.State != task.JobRunning {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	j := c.jobs[id]
	if j == nil {
		return c.loadJobLocked(ctx, id)
	}
	states, err := c.st.StageStates(ctx, id)
	if err != nil {
		return nil, err
	}
	counts, err := c.st.TaskCounts(ctx, id)
	if err != nil {
		return nil, err
	}
	for i, s := range j.stages {
		if i < len(states) && i < len(counts) {
			s.state, s.counts = states[i], counts[i]
		}
	}
	return j, nil
}
