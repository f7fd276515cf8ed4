package coord

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// Several coordinators on one store (a store.Cluster, i.e. PostgreSQL).
//
// Each keeps the same caches as a lone coordinator, but treats them as
// hints that other coordinators' writes make stale:
//
//   - every refreshEvery it re-reads the active jobs, their per-stage
//     counts, the running leases and the workers from the store
//     (refresh), so it learns of jobs submitted elsewhere, work that
//     became ready elsewhere, leases granted elsewhere and workers seen
//     elsewhere;
//   - a report about a lease it does not know is checked against the
//     store (adoptLeasesLocked), so a worker may talk to any coordinator;
//   - closing a stage, flushing a stage's buffer, starting a reduce and
//     ending a job are decided under the stage's row lock from the
//     store's counts (lockStageLocked) and with a conditional update
//     (JobFinish), so exactly one coordinator does each;
//   - duties that must run once (lease expiry of silent workers,
//     overdue attempts, retry wake-ups) run on the leader only, elected
//     through store.Cluster.TryLead; workers' last_seen is persisted by
//     whichever coordinator they talk to, often enough (persistEvery)
//     for the leader to judge silence from the store.
//
// Exactly-once results never depend on any of this: a result is
// committed only with the current fencing token, in the transaction that
// writes it.
type cluster struct {
	st      store.Cluster // nil when the coordinator is alone on its store
	leading atomic.Bool
	// batchMu is held by each write batch and by a refresh, so a refresh
	// reads the store when it holds exactly this coordinator's own
	// committed writes.
	batchMu sync.Mutex
	// refreshes counts completed refreshes (for tests and logs).
	refreshes atomic.Int64
}

func clusterOf(s store.Store) store.Cluster {
	cs, _ := s.(store.Cluster)
	return cs
}

// shared reports whether other coordinators may write to the store.
func (c *Coordinator) shared() bool { return c.cl.st != nil }

// Leading reports whether this coordinator runs the duties that must run
// once across coordinators sharing a store. A coordinator alone on its
// store always leads.
func (c *Coordinator) Leading() bool { return c.cl.st == nil || c.cl.leading.Load() }

// Shared reports whether the coordinator shares its store with others.
func (c *Coordinator) Shared() bool { return c.shared() }

func (c *Coordinator) leadEvery() time.Duration {
	return min(max(c.cfg.LeaseTTL/4, 100*time.Millisecond), 500*time.Millisecond)
}

func (c *Coordinator) refreshEvery() time.Duration {
	return min(max(c.cfg.LeaseTTL/8, 100*time.Millisecond), time.Second)
}

// persistEvery is how often a worker's last_seen is written to the store
// while nothing else about it changes. Shared, it must be well within
// the lease TTL: the leader judges silence from the store.
func (c *Coordinator) persistEvery() time.Duration {
	if !c.shared() {
		return 10 * time.Second
	}
	return min(10*time.Second, c.cfg.LeaseTTL/4)
}

// startCluster starts the election and refresh loop if the store is
// shared. Called from Start with the run context.
func (c *Coordinator) startCluster(ctx context.Context) {
	if c.cl.st == nil {
		return
	}
	c.checkLead(ctx) // lead at once if nobody does
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.clusterLoop(ctx)
	}()
}

func (c *Coordinator) clusterLoop(ctx context.Context) {
	tick := time.NewTicker(min(c.leadEvery(), c.refreshEvery()))
	defer tick.Stop()
	next := time.Now()
	for {
		select {
		case <-ctx.Done():
			c.cl.leading.Store(false)
			return
		case <-tick.C:
		}
		c.checkLead(ctx)
		if now := time.Now(); !now.Before(next) {
			if err := c.refresh(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn("refresh from the shared store", "err", err)
			}
			next = now.Add(c.refreshEvery())
		}
	}
}

// checkLead tries to take or keep the lead.
func (c *Coordinator) checkLead(ctx context.Context) {
	was := c.cl.leading.Load()
	now, err := c.cl.st.TryLead(ctx)
	if err != nil && ctx.Err() == nil {
		c.log.Warn("leader election", "err", err)
	}
	c.cl.leading.Store(now)
	switch {
	case now && !was:
		c.log.Info("leading: this coordinator now runs lease expiry and retries")
		// Retries others scheduled are due here now.
		if due, err := c.st.TaskFailedDue(ctx); err == nil && !due.IsZero() {
			c.mu.Lock()
			c.wakes.push(due)
			c.mu.Unlock()
		}
		select {
		case c.sweepKick <- struct{}{}:
		default:
		}
	case was && !now:
		c.log.Warn("no longer leading")
	}
}

// snapshot is what a refresh reads from the store.
type snapshot struct {
	jobs    []snapJob
	running []*store.RunningTask
	workers []*task.Worker
	due     time.Time
}

type snapJob struct {
	job    *task.Job
	states []task.StageState
	counts []task.Counts
}

// refresh re-reads from the store what other coordinators may have
// changed and folds it into the caches.
func (c *Coordinator) refresh(ctx context.Context) error {
	c.cl.batchMu.Lock()
	snap, err := c.readSnapshot(ctx)
	if err != nil {
		c.cl.batchMu.Unlock()
		return err
	}
	c.mu.Lock()
	dirty := c.applySnapshotLocked(snap)
	c.mu.Unlock()
	c.cl.batchMu.Unlock()
	c.cl.refreshes.Add(1)
	if !dirty {
		return nil
	}
	// Counts moved: some stage or job may now be complete.
	return c.do(ctx, func(ctx context.Context, tx store.Tx) error { return c.settle(ctx, tx) })
}

func (c *Coordinator) readSnapshot(ctx context.Context) (*snapshot, error) {
	jobs, err := c.st.JobList(ctx, &store.JobListParams{Active: true})
	if err != nil {
		return nil, fmt.Errorf("refresh jobs: %w", err)
	}
	snap := &snapshot{}
	for _, j := range jobs {
		states, err := c.st.StageStates(ctx, j.ID)
		if err != nil {
			return nil, fmt.Errorf("refresh job %s: %w", j.ID, err)
		}
		counts, err := c.st.TaskCounts(ctx, j.ID)
		if err != nil {
			return nil, fmt.Errorf("refresh job %s: %w", j.ID, err)
		}
		if len(states) != len(j.Stages) || len(counts) != len(j.Stages) {
			return nil, fmt.Errorf("refresh job %s: %d stages, %d states, %d counts", j.ID, len(j.Stages), len(states), len(counts))
		}
		snap.jobs = append(snap.jobs, snapJob{j, states, counts})
	}
	if snap.running, err = c.st.TaskRunning(ctx); err != nil {
		return nil, fmt.Errorf("refresh leases: %w", err)
	}
	if snap.workers, err = c.st.WorkerList(ctx); err != nil {
		return nil, fmt.Errorf("refresh workers: %w", err)
	}
	if c.Leading() {
		if snap.due, err = c.st.TaskFailedDue(ctx); err != nil {
			return nil, fmt.Errorf("refresh retries: %w", err)
		}
	}
	return snap, nil
}

// applySnapshotLocked replaces the caches' view of the store with snap,
// keeping what only this coordinator knows (attempts' request numbers,
// workers' latest requests). It reports whether a job needs settling.
func (c *Coordinator) applySnapshotLocked(snap *snapshot) (dirty bool) {
	newWork := false
	active := make(map[string]bool, len(snap.jobs))
	for _, sj := range snap.jobs {
		active[sj.job.ID] = true
		j := c.jobs[sj.job.ID]
		if j == nil {
			j = c.newJobRT(sj.job)
			c.jobs[sj.job.ID] = j
			j.dirty = true
			c.signalJobsLocked()
		}
		for i, s := range j.stages {
			if s.state != sj.states[i] || s.counts != sj.counts[i] {
				j.dirty = true
			}
			if sj.counts[i].Ready > s.counts.Ready {
				newWork = true
			}
			s.state, s.counts = sj.states[i], sj.counts[i]
		}
		dirty = dirty || j.dirty
	}
	for id, j := range c.jobs {
		if active[id] {
			continue
		}
		// Ended elsewhere (completed or canceled): stop its work here.
		c.dropJobAttemptsLocked(j)
		delete(c.jobs, id)
		c.signalJobsLocked()
	}
	for _, sw := range snap.workers {
		w := c.workers[sw.ID]
		if w == nil {
			w = &workerRT{info: *sw, ops: opSet(sw.Ops), leases: map[int64]*attempt{}, persistedAt: sw.LastSeen}
			c.workers[sw.ID] = w
			continue
		}
		// Seen more recently elsewhere, or found lost by the leader.
		if sw.LastSeen.After(w.info.LastSeen) || sw.LastSeen.Equal(w.info.LastSeen) && sw.State == task.WorkerLost && w.info.State != task.WorkerLost {
			w.info = *sw
			w.ops = opSet(sw.Ops)
			w.persistedAt = sw.LastSeen
		}
	}
	old, oldBackups := c.attempts, c.backups
	c.attempts = make(map[int64]*attempt, len(snap.running))
	c.backups = map[int64]*attempt{}
	for _, w := range c.workers {
		clear(w.leases)
	}
	for _, j := range c.jobs {
		j.running = 0
	}
	for _, r := range snap.running {
		j := c.jobs[r.JobID]
		if j == nil || r.Stage >= len(j.stages) {
			continue
		}
		w := c.workers[r.Worker]
		if w == nil {
			w = &workerRT{info: task.Worker{ID: r.Worker, Name: r.Worker, State: task.WorkerAlive, LastSeen: r.StartedAt},
				ops: map[string]bool{}, leases: map[int64]*attempt{}}
			c.workers[r.Worker] = w
		}
		a := old[r.ID]
		if a == nil || a.token != r.Token || a.job != j {
			a = &attempt{taskID: r.ID, token: r.Token, number: r.Attempt, job: j, stage: r.Stage, started: r.StartedAt,
				deadline: r.StartedAt.Add(j.stages[r.Stage].def.Timeout.D() + c.cfg.LeaseTTL)}
		}
		a.worker = w
		c.attempts[r.ID] = a
		w.leases[r.ID] = a
		j.running++
		c.installBackupLocked(r, j, oldBackups, r.StartedAt)
	}
	if !snap.due.IsZero() {
		if t, ok := c.wakes.peek(); !ok || snap.due.Before(t) {
			c.wakes.push(snap.due)
			select {
			case c.sweepKick <- struct{}{}:
			default:
			}
		}
	}
	if newWork {
		c.signalWorkLocked()
	}
	return dirty
}

// loadJobLocked brings a running job another coordinator submitted into
// the caches; nil if the job is not running.
func (c *Coordinator) loadJobLocked(ctx context.Context, id string) (*jobRT, error) {
	if j := c.jobs[id]; j != nil {
		return j, nil
	}
	job, err := c.st.JobGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if job.State != task.JobRunning {
		return nil, nil
	}
	states, err := c.st.StageStates(ctx, id)
	if err != nil {
		return nil, err
	}
	counts, err := c.st.TaskCounts(ctx, id)
	if err != nil {
		return nil, err
	}
	j := c.newJobRT(job)
	for i, s := range j.stages {
		if i < len(states) && i < len(counts) {
			s.state, s.counts = states[i], counts[i]
		}
	}
	c.jobs[id] = j
	c.signalJobsLocked()
	return j, nil
}

// adoptLeasesLocked looks up in the store the leases a worker reports or
// runs that this coordinator does not know (another one granted them,
// after which the worker failed over here), and takes them into the
// caches if the store says the worker holds them.
func (c *Coordinator) adoptLeasesLocked(ctx context.Context, tx store.Tx, w *workerRT, req *api.SyncRequest) error {
	var ids []int64
	check := func(ref api.TaskRef) {
		if a := w.leases[ref.Task]; a == nil || a.token != ref.Token {
			ids = append(ids, ref.Task)
		}
	}
	for _, d := range req.Done {
		check(api.TaskRef{Task: d.Task, Token: d.Token})
	}
	for _, f := range req.Failed {
		check(api.TaskRef{Task: f.Task, Token: f.Token})
	}
	for _, r := range req.Released {
		check(r)
	}
	for _, r := range req.Running {
		check(r)
	}
	if len(ids) == 0 {
		return nil
	}
	leases, err := tx.TaskLeases(ctx, ids)
	if err != nil {
		return err
	}
	for _, r := range leases {
		if r.SpecWorker == w.info.ID {
			j, err := c.loadJobLocked(ctx, r.JobID)
			if err != nil {
				return err
			}
			if j != nil && r.Stage < len(j.stages) {
				if old := c.backups[r.ID]; old != nil {
					c.dropAttemptLocked(old)
				}
				c.installBackupLocked(r, j, nil, c.clock.Now())
			}
			continue
		}
		if r.Worker != w.info.ID {
			continue
		}
		j, err := c.loadJobLocked(ctx, r.JobID)
		if err != nil {
			return err
		}
		if j == nil || r.Stage >= len(j.stages) {
			continue
		}
		if old := c.attempts[r.ID]; old != nil {
			delete(c.attempts, r.ID)
			delete(old.worker.leases, r.ID)
			old.job.running--
		}
		a := &attempt{taskID: r.ID, token: r.Token, number: r.Attempt, job: j, stage: r.Stage, worker: w, started: r.StartedAt,
			deadline: r.StartedAt.Add(j.stages[r.Stage].def.Timeout.D() + c.cfg.LeaseTTL)}
		c.attempts[r.ID] = a
		w.leases[r.ID] = a
		j.running++
	}
	return nil
}

// lockStageLocked takes the stage's row lock for the rest of the
// transaction and replaces the cached state and counts with the store's.
func (c *Coordinator) lockStageLocked(ctx context.Context, tx store.Tx, j *jobRT, s *stageRT) error {
	st, counts, err := tx.StageLock(ctx, j.job.ID, s.idx)
	if err != nil {
		return err
	}
	s.state, s.counts = st, counts
	return nil
}

// mayClose reports whether the cached counts say the stage may need a
// decision (flush, start or close) once its inputs are done.
func mayClose(s *stageRT) bool {
	return s.state == task.StageWaiting || s.counts.Open() == 0 || s.def.Kind == task.Map && s.counts.Pending > 0
}

// endedElsewhere reports whether the store says a job this coordinator
// still caches as running has ended (another coordinator closed or
// canceled it since the last refresh), so a status is never behind the
// store's.
func (c *Coordinator) endedElsewhere(ctx context.Context, id string) bool {
	if !c.shared() {
		return false
	}
	c.mu.Lock()
	_, cached := c.jobs[id]
	c.mu.Unlock()
	if !cached {
		return false
	}
	j, err := c.st.JobGet(ctx, id)
	return err == nil && j.State.Final()
}
