package coord

import (
	"context"
	"fmt"
	"sort"

	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// Submission is a validated job ready to be stored.
type Submission struct {
	Name     string
	Priority int
	Weight   float64
	Owner    string
	Stages   []task.Stage
	Items    []task.Item
}

// Compile validates a parsed spec against the operators this coordinator
// knows (its own and those its workers announced) and returns it ready to
// submit. Errors match spec.ErrInvalid.
func (c *Coordinator) Compile(j *spec.Job) (*Submission, error) {
	stages, err := spec.Compile(j, c.Ops())
	if err != nil {
		return nil, err
	}
	items, err := spec.Items(j)
	if err != nil {
		return nil, err
	}
	if len(items) > c.cfg.MaxItems {
		return nil, fmt.Errorf("job has %d items, more than the limit of %d: %w", len(items), c.cfg.MaxItems, ErrTooLarge)
	}
	return &Submission{Name: cmpOr(j.Name, "job"), Priority: j.Priority, Weight: cmpOr(j.Weight, spec.DefaultWeight), Stages: stages, Items: items}, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Submit stores a job and its first microtasks in one transaction and
// returns the job. Nothing is stored if it fails.
func (c *Coordinator) Submit(ctx context.Context, s *Submission) (*task.Job, int64, error) {
	j := &task.Job{
		ID: newJobID(), Name: s.Name, State: task.JobRunning, Priority: s.Priority, Weight: s.Weight,
		Owner: s.Owner, Items: int64(len(s.Items)), Stages: s.Stages,
	}
	var tasks int64
	err := c.do(ctx, func(ctx context.Context, tx store.Tx) error {
		tasks = 0
		now := c.clock.Now()
		j.CreatedAt = now.UTC().Truncate(1e6)
		rt := c.newJobRT(j)
		var waiting []int
		for i, st := range rt.stages {
			if st.def.Kind == task.Reduce && !st.fromInput {
				st.state = task.StageWaiting
				waiting = append(waiting, i)
			}
		}
		if err := tx.JobInsert(ctx, j, waiting); err != nil {
			return err
		}
		for _, st := range rt.stages {
			if !st.fromInput {
				continue
			}
			var inputs [][]task.Item
			if st.def.Kind == task.Reduce {
				inputs = [][]task.Item{s.Items}
			} else {
				inputs = chunk(s.Items, st.def.Batch)
			}
			if err := tx.TaskInsert(ctx, &store.TaskInsertParams{JobID: j.ID, Stage: st.idx, Now: now, Inputs: inputs}); err != nil {
				return err
			}
			st.counts.Ready += int64(len(inputs))
			tasks += int64(len(inputs))
		}
		c.jobs[j.ID] = rt
		rt.dirty = true
		c.newWork = true
		c.signalJobsLocked()
		return c.settle(ctx, tx)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("submit job: %w", err)
	}
	c.log.Info("job submitted", "job", j.ID, "name", j.Name, "items", j.Items, "microtasks", tasks)
	return j, tasks, nil
}

// chunk splits items into groups of at most n.
func chunk(items []task.Item, n int) [][]task.Item {
	out := make([][]task.Item, 0, (len(items)+n-1)/n)
	for len(items) > 0 {
		k := min(n, len(items))
		out = append(out, items[:k:k])
		items = items[k:]
	}
	return out
}

// Ops lists the operators jobs may use: the configured ones and those
// announced by any worker seen.
func (c *Coordinator) Ops() spec.Ops {
	c.mu.Lock()
	defer c.mu.Unlock()
	known := opList{}
	checks := checkedOps{opList: known}
	for name, info := range c.cfg.Ops {
		kind := task.Map
		if info.Reduce {
			kind = task.Reduce
		}
		known[name] = kind
		if info.Check != nil {
			if checks.check == nil {
				checks.check = map[string]func(*spec.Stage, *task.Stage) []spec.ParamError{}
			}
			checks.check[name] = info.Check
		}
		if info.Expand != nil {
			if checks.expand == nil {
				checks.expand = map[string]func(*task.Stage) []task.Stage{}
			}
			checks.expand[name] = info.Expand
		}
	}
	for _, w := range c.workers {
		for op := range w.ops {
			if _, ok := known[op]; !ok {
				known[op] = task.Map
			}
		}
	}
	if checks.check != nil || checks.expand != nil {
		return checks
	}
	return known
}

type opList map[string]task.StageKind

// checkedOps are operators some of which check their params at submit
// (OpInfo.Check).
type checkedOps struct {
	opList
	check  map[string]func(*spec.Stage, *task.Stage) []spec.ParamError
	expand map[string]func(*task.Stage) []task.Stage
}

func (o checkedOps) ExpandStage(s *task.Stage) []task.Stage {
	if f := o.expand[s.Op]; f != nil {
		return f(s)
	}
	return nil
}

func (o checkedOps) CheckStage(raw *spec.Stage, s *task.Stage) []spec.ParamError {
	if f := o.check[s.Op]; f != nil {
		return f(raw, s)
	}
	return nil
}

func (o opList) Lookup(op string) (task.StageKind, bool) { k, ok := o[op]; return k, ok }

func (o opList) Names() []string {
	names := make([]string, 0, len(o))
	for n := range o {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
