package coord

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// Job returns a job's status: live counts and ETA while it runs, the
// store's record once it has ended.
func (c *Coordinator) Job(ctx context.Context, id string) (*api.JobStatus, error) {
	ended := c.endedElsewhere(ctx, id)
	c.mu.Lock()
	if j := c.jobs[id]; j != nil && !ended {
		st := c.liveStatusLocked(j)
		c.mu.Unlock()
		if err := c.addErrors(ctx, st); err != nil {
			return nil, err
		}
		return st, nil
	}
	c.mu.Unlock()
	j, err := c.st.JobGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("job %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	states, err := c.st.StageStates(ctx, id)
	if err != nil {
		return nil, err
	}
	counts, err := c.st.TaskCounts(ctx, id)
	if err != nil {
		return nil, err
	}
	st := baseStatus(j)
	for i := range st.Stages {
		st.Stages[i].State = states[i]
		st.Stages[i].Counts = counts[i]
		st.Stages[i].Expected = counts[i].Total() - counts[i].Pending
		st.Counts = st.Counts.Plus(counts[i])
	}
	if j.FinishedAt != nil {
		st.Elapsed = j.FinishedAt.Sub(j.CreatedAt).Seconds()
	} else {
		st.Elapsed = c.clock.Now().Sub(j.CreatedAt).Seconds()
	}
	if err := c.addErrors(ctx, st); err != nil {
		return nil, err
	}
	return st, nil
}

func baseStatus(j *task.Job) *api.JobStatus {
	st := &api.JobStatus{ID: j.ID, Name: j.Name, State: j.State, Priority: j.Priority, Weight: j.Weight,
		Owner: j.Owner, Items: j.Items, CreatedAt: j.CreatedAt, FinishedAt: j.FinishedAt}
	for _, s := range j.Stages {
		st.Stages = append(st.Stages, api.StageStatus{Name: s.Name, Op: s.Op, Kind: s.Kind, After: s.After})
	}
	return st
}

func (c *Coordinator) liveStatusLocked(j *jobRT) *api.JobStatus {
	now := c.clock.Now()
	st := baseStatus(j.job)
	for i, s := range j.stages {
		ss := &st.Stages[i]
		ss.State, ss.Counts = s.state, s.counts
		ss.Expected = int64(math.Round(c.expectedTasks(j, s)))
		if m, ok := s.meanSec(); ok {
			ss.MeanMS = m * 1000
		}
		st.Counts = st.Counts.Plus(s.counts)
	}
	st.Elapsed = now.Sub(j.job.CreatedAt).Seconds()
	st.Rate = j.rate.perSecond(now, c.jobDone(j))
	st.ETA = c.etaLocked(j)
	return st
}

// addErrors lists the first dead microtasks of a job with their errors.
func (c *Coordinator) addErrors(ctx context.Context, st *api.JobStatus) error {
	if st.Counts.Dead == 0 {
		return nil
	}
	dead := task.Dead
	list, err := c.st.TaskList(ctx, &store.TaskListParams{JobID: st.ID, State: &dead, Limit: 20})
	if err != nil {
		return err
	}
	for _, m := range list {
		name := ""
		if m.Stage < len(st.Stages) {
			name = st.Stages[m.Stage].Name
		}
		st.Errors = append(st.Errors, api.TaskError{Task: m.ID, Stage: name, Attempts: m.Attempts, Error: m.Error})
	}
	return nil
}

// itemsInto estimates how many items will reach stage s in all.
func (c *Coordinator) itemsInto(j *jobRT, s *stageRT) float64 {
	n := 0.0
	if s.fromInput {
		n += float64(j.job.Items)
	}
	for _, u := range s.upstream {
		n += c.itemsOutOf(j, j.stages[u])
	}
	return n
}

// itemsOutOf estimates how many items stage s will produce in all, from
// the fan-out observed so far (one out per item in until known).
func (c *Coordinator) itemsOutOf(j *jobRT, s *stageRT) float64 {
	if s.state == task.StageDone || s.def.Kind == task.Reduce && s.itemsIn > 0 {
		return float64(s.itemsOut)
	}
	if s.def.Kind == task.Reduce {
		return 1
	}
	ratio := 1.0
	if s.itemsIn > 0 {
		ratio = float64(s.itemsOut) / float64(s.itemsIn)
	}
	return c.itemsInto(j, s) * ratio
}

// expectedTasks estimates stage s's microtasks in all.
func (c *Coordinator) expectedTasks(j *jobRT, s *stageRT) float64 {
	have := float64(s.counts.Total() - s.counts.Pending)
	if s.def.Kind == task.Reduce {
		return max(have, 1)
	}
	if c.inputsDone(j, s) {
		return have + math.Ceil(float64(s.counts.Pending)/float64(s.def.Batch))
	}
	return max(have, math.Ceil(c.itemsInto(j, s)/float64(s.def.Batch)))
}

// etaLocked applies the source's model T = max(tmax, Σtᵢ/(M·c)) to the
// remaining work: Σtᵢ sums, over the stages, the microtasks still to run
// times that stage's mean observed time (a running one counts half), and
// M·c is the live slots able to run them. tmax, the longest single
// microtask left, bounds T from below when little work remains.
func (c *Coordinator) etaLocked(j *jobRT) *api.ETA {
	now := c.clock.Now()
	eta := &api.ETA{Known: true}
	var work, tmax float64
	for _, s := range j.stages {
		if s.state == task.StageDone {
			continue
		}
		left := c.expectedTasks(j, s) - float64(s.counts.Done+s.counts.Dead+s.counts.Canceled) - float64(s.counts.Running)/2
		if left <= 0 {
			continue
		}
		mean, ok := s.recent()
		if !ok {
			mean, ok = c.opMeanLocked(s.def.Op)
		}
		if !ok {
			eta.Known = false
			continue
		}
		work += left * mean
		tmax = max(tmax, mean)
	}
	ops := map[string]bool{}
	for _, s := range j.stages {
		ops[s.def.Op] = true
	}
	for _, w := range c.workers {
		if w.info.State != task.WorkerAlive || now.Sub(w.info.LastSeen) > c.cfg.LeaseTTL {
			continue
		}
		for op := range ops {
			if w.ops[op] {
				eta.Capacity += w.info.Slots
				break
			}
		}
	}
	eta.WorkS = work
	if eta.Capacity == 0 {
		eta.Known = false
		return eta
	}
	eta.RemainingS = max(tmax, work/float64(eta.Capacity))
	return eta
}

// opMeanLocked is the mean time of op's microtasks in any active job.
func (c *Coordinator) opMeanLocked(op string) (float64, bool) {
	if c.opMeans != nil { // a snapshot of many jobs (snapshot.go)
		m, ok := c.opMeans[op]
		return m, ok
	}
	var sum float64
	var n int64
	for _, j := range c.jobs {
		for _, s := range j.stages {
			if s.def.Op == op {
				sum += s.sumSec
				n += s.doneN
			}
		}
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}

// Jobs lists jobs, newest first, with their counts.
func (c *Coordinator) Jobs(ctx context.Context, state task.JobState, limit int) ([]*api.JobStatus, error) {
	return c.JobsOf(ctx, "", state, limit)
}

// JobsOf is Jobs limited to the jobs of one owner (all if owner is "").
func (c *Coordinator) JobsOf(ctx context.Context, owner string, state task.JobState, limit int) ([]*api.JobStatus, error) {
	jobs, err := c.st.JobList(ctx, &store.JobListParams{State: state, Limit: limit, Owner: owner})
	if err != nil {
		return nil, err
	}
	out := make([]*api.JobStatus, 0, len(jobs))
	for _, j := range jobs {
		c.mu.Lock()
		rt := c.jobs[j.ID]
		var st *api.JobStatus
		if rt != nil {
			st = c.liveStatusLocked(rt)
		}
		c.mu.Unlock()
		if st == nil {
			st = baseStatus(j)
			counts, err := c.st.TaskCounts(ctx, j.ID)
			if err != nil {
				return nil, err
			}
			for i := range counts {
				st.Stages[i].Counts = counts[i]
				st.Counts = st.Counts.Plus(counts[i])
			}
			if j.FinishedAt != nil {
				st.Elapsed = j.FinishedAt.Sub(j.CreatedAt).Seconds()
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// Workers lists the workers seen, alive ones first.
func (c *Coordinator) Workers() []task.Worker {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	out := make([]task.Worker, 0, len(c.workers))
	for _, w := range c.workers {
		info := w.info
		info.Running = len(w.leases)
		if info.State != task.WorkerLost && now.Sub(info.LastSeen) > c.cfg.LeaseTTL {
			info.State = task.WorkerLost
		}
		out = append(out, info)
	}
	rank := map[string]int{task.WorkerAlive: 0, task.WorkerDraining: 1, task.WorkerLost: 2}
	sort.Slice(out, func(a, b int) bool {
		if rank[out[a].State] != rank[out[b].State] {
			return rank[out[a].State] < rank[out[b].State]
		}
		return out[a].ID < out[b].ID
	})
	return out
}

// Cancel cancels a running job: its open microtasks are canceled and
// their workers told to stop.
func (c *Coordinator) Cancel(ctx context.Context, id string) error {
	var found bool
	err := c.do(ctx, func(ctx context.Context, tx store.Tx) error {
		j := c.jobs[id]
		if j == nil && c.shared() {
			var err error
			if j, err = c.loadJobLocked(ctx, id); err != nil {
				return err
			}
		}
		found = j != nil
		if j == nil {
			return nil
		}
		now := c.clock.Now()
		if ended, err := tx.JobFinish(ctx, id, task.JobCanceled, now); err != nil || !ended {
			// Ended by another coordinator meanwhile: nothing to cancel.
			found = false
			return err
		}
		moved, err := tx.TaskCancel(ctx, id, now)
		if err != nil {
			return err
		}
		c.dropJobAttemptsLocked(j)
		for _, m := range moved {
			if m.Stage < len(j.stages) && m.State != task.Running {
				s := j.stages[m.Stage]
				s.counts.Add(m.State, -m.N)
			}
			if m.Stage < len(j.stages) {
				j.stages[m.Stage].counts.Canceled += m.N
			}
		}
		for _, s := range j.stages {
			s.counts.Pending = 0
		}
		delete(c.jobs, id)
		j.job.State = task.JobCanceled
		c.signalJobsLocked()
		c.log.Info("job canceled", "job", id)
		return nil
	})
	if err != nil {
		return err
	}
	if !found {
		if _, err := c.st.JobGet(ctx, id); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("job %s: %w", id, ErrNotFound)
		}
		return fmt.Errorf("job %s has already ended: %w", id, ErrConflict)
	}
	return nil
}

// Results streams the outcome of each item of the given stages (by name;
// default the final stages, those no other stage takes from). Items an
// operator dropped are left out; with dropped set, only they are listed,
// from every stage (or the given ones), with the reason: the job's report.
func (c *Coordinator) Results(ctx context.Context, id string, stages []string, dropped bool, fn func(*api.ResultLine) error) error {
	j, err := c.st.JobGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("job %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return err
	}
	var idx []int
	if len(stages) == 0 && dropped {
		for i := range j.Stages {
			idx = append(idx, i)
		}
	} else if len(stages) == 0 {
		fed := map[string]bool{}
		for _, s := range j.Stages {
			for _, a := range s.After {
				fed[a] = true
			}
		}
		for i, s := range j.Stages {
			if !fed[s.Name] {
				idx = append(idx, i)
			}
		}
	}
	for _, name := range stages {
		found := false
		for i, s := range j.Stages {
			if s.Name == name {
				idx, found = append(idx, i), true
			}
		}
		if !found {
			return fmt.Errorf("job %s has no stage %q: %w", id, name, ErrNotFound)
		}
	}
	return c.st.Results(ctx, &store.ResultsParams{JobID: id, Stages: idx}, func(r *store.Result) error {
		if (r.Dropped != "") != dropped {
			return nil
		}
		return fn(&api.ResultLine{ID: r.ID, Stage: j.Stages[r.Stage].Name, Data: r.Data, Error: r.Error, Dropped: r.Dropped})
	})
}

// Wait blocks until the job ends (or ctx ends) and returns its status.
func (c *Coordinator) Wait(ctx context.Context, id string) (*api.JobStatus, error) {
	for {
		c.mu.Lock()
		ch := c.jobCh
		_, active := c.jobs[id]
		c.mu.Unlock()
		if !active {
			return c.Job(ctx, id)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.stopped:
			return nil, ErrStopped
		}
	}
}

// Ready reports whether the coordinator serves requests and its store
// answers.
func (c *Coordinator) Ready(ctx context.Context) error {
	select {
	case <-c.stopped:
		return ErrStopped
	default:
	}
	if !c.running {
		return ErrStopped
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return c.st.Ping(ctx)
}
