package coord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

var (
	// ErrNotFound: no such job.
	ErrNotFound = errors.New("not found")
	// ErrStopped: the coordinator is not running.
	ErrStopped = errors.New("coordinator stopped")
	// ErrConflict: the request does not fit the job's state.
	ErrConflict = errors.New("conflict")
	// ErrTooLarge: a job exceeds a limit.
	ErrTooLarge = errors.New("too large")
	// ErrUnavailable: the store failed; nothing of the request was
	// committed and it may be retried.
	ErrUnavailable = errors.New("store unavailable")
)

// Coordinator runs jobs. Create it with New, then Start it.
type Coordinator struct {
	cfg   Config
	st    store.Store
	log   *slog.Logger
	clock Clock

	ops chan *op

	mu       sync.Mutex
	jobs     map[string]*jobRT
	jobSeq   int64
	workers  map[string]*workerRT
	attempts map[int64]*attempt // each running microtask's (first) attempt
	backups  map[int64]*attempt // speculative copies, by microtask
	// speculated marks running microtasks already copied once (or
	// refused a copy by the store); specWoken those whose becoming
	// stragglers woke waiting workers.
	speculated, specWoken map[int64]bool
	specStats             specStats
	// blamed lists, per microtask, the workers lost while running it
	// (poison microtasks; see blameLocked).
	blamed map[int64][]string
	// avoid lists, per failed microtask, the workers its retries should
	// not go to (avoid.go).
	avoid   map[int64]*avoidEntry
	wakes   timeHeap // retry times of failed microtasks
	rng     *rand.Rand
	newWork bool          // set while a batch makes work ready
	workCh  chan struct{} // closed (and replaced) when work becomes ready
	jobCh   chan struct{} // closed (and replaced) when a job changes state
	// sweepKick wakes the sweeper when a retry is due sooner than it
	// planned to look.
	sweepKick chan struct{}
	// opMeans, while set, holds opMeanLocked's answer for every operator,
	// so that a status of every job costs linear time (snapshot.go).
	opMeans map[string]float64

	startOnce, stopOnce sync.Once
	cancel              context.CancelFunc
	wg                  sync.WaitGroup
	stopped             chan struct{}
	running             bool

	cl cluster // set when other coordinators share the store (shared.go)
}

// New returns a coordinator; it does nothing until Start.
func New(cfg Config) (*Coordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Coordinator{
		cfg:        cfg,
		st:         cfg.Store,
		log:        cfg.Logger,
		clock:      cfg.Clock,
		ops:        make(chan *op, 1024),
		jobs:       map[string]*jobRT{},
		workers:    map[string]*workerRT{},
		attempts:   map[int64]*attempt{},
		backups:    map[int64]*attempt{},
		speculated: map[int64]bool{},
		specWoken:  map[int64]bool{},
		blamed:     map[int64][]string{},
		avoid:      map[int64]*avoidEntry{},
		rng:        rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x6d797269)),
		workCh:     make(chan struct{}),
		jobCh:      make(chan struct{}),
		sweepKick:  make(chan struct{}, 1),
		stopped:    make(chan struct{}),
		cl:         cluster{st: clusterOf(cfg.Store)},
	}, nil
}

// Start rebuilds the in-memory state from the store and starts the
// writer and the sweeper. The coordinator runs until Stop.
func (c *Coordinator) Start(ctx context.Context) error {
	err := ErrStopped
	c.startOnce.Do(func() {
		c.mu.Lock()
		err = c.reloadLocked(ctx)
		c.mu.Unlock()
		if err != nil {
			close(c.stopped)
			return
		}
		run, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c.cancel = cancel
		c.running = true
		c.wg.Add(2)
		go func() { defer c.wg.Done(); c.writer(run) }()
		go func() { defer c.wg.Done(); c.sweeper(run) }()
		c.startCluster(run)
		// Settle every job once: a crash may have left nothing to do but
		// closing stages that were already complete.
		err = c.do(ctx, func(ctx context.Context, tx store.Tx) error {
			for _, j := range c.jobs {
				j.dirty = true
			}
			return c.settle(ctx, tx)
		})
		c.log.Info("coordinator started", "jobs", len(c.jobs), "leases", len(c.attempts), "workers", len(c.workers))
	})
	return err
}

// Stop stops the coordinator: requests in progress get ErrStopped, and
// nothing more is written. It is safe to call more than once, and before
// Start. It does not close the store.
func (c *Coordinator) Stop() {
	c.stopOnce.Do(func() {
		c.startOnce.Do(func() { close(c.stopped) }) // never started
		if c.cancel != nil {
			c.cancel()
			c.wg.Wait()
			close(c.stopped)
		}
		c.log.Info("coordinator stopped")
	})
}

// reloadLocked rebuilds every cache from the store.
func (c *Coordinator) reloadLocked(ctx context.Context) error {
	jobs, err := c.st.JobList(ctx, &store.JobListParams{Active: true})
	if err != nil {
		return fmt.Errorf("load jobs: %w", err)
	}
	c.jobs = map[string]*jobRT{}
	slices.SortFunc(jobs, func(a, b *task.Job) int { return a.CreatedAt.Compare(b.CreatedAt) })
	for _, j := range jobs {
		states, err := c.st.StageStates(ctx, j.ID)
		if err != nil {
			return fmt.Errorf("load job %s: %w", j.ID, err)
		}
		counts, err := c.st.TaskCounts(ctx, j.ID)
		if err != nil {
			return fmt.Errorf("load job %s: %w", j.ID, err)
		}
		rt := c.newJobRT(j)
		for i, s := range rt.stages {
			s.state = states[i]
			s.counts = counts[i]
		}
		c.jobs[j.ID] = rt
	}
	now := c.clock.Now()
	stored, err := c.st.WorkerList(ctx)
	if err != nil {
		return fmt.Errorf("load workers: %w", err)
	}
	for _, w := range stored {
		rt := c.workers[w.ID]
		if rt == nil {
			rt = &workerRT{info: *w, persistedAt: w.LastSeen}
			rt.ops = opSet(w.Ops)
			c.workers[w.ID] = rt
		}
		rt.leases = map[int64]*attempt{}
	}
	running, err := c.st.TaskRunning(ctx)
	if err != nil {
		return fmt.Errorf("load leases: %w", err)
	}
	c.attempts = map[int64]*attempt{}
	c.backups = map[int64]*attempt{}
	for _, r := range running {
		j := c.jobs[r.JobID]
		if j == nil || r.Stage >= len(j.stages) {
			continue // job no longer active; its leases are inert
		}
		w := c.workers[r.Worker]
		if w == nil {
			w = &workerRT{info: task.Worker{ID: r.Worker, Name: r.Worker, State: task.WorkerAlive}, ops: map[string]bool{}, leases: map[int64]*attempt{}}
			c.workers[r.Worker] = w
		}
		// The holder gets a full lease from now to reconnect.
		if w.info.LastSeen.Before(now) {
			w.info.LastSeen = now
			w.info.State = task.WorkerAlive
		}
		a := &attempt{taskID: r.ID, token: r.Token, number: r.Attempt, job: j, stage: r.Stage, worker: w, started: r.StartedAt,
			deadline: now.Add(j.stages[r.Stage].def.Timeout.D() + c.cfg.LeaseTTL)}
		c.attempts[r.ID] = a
		w.leases[r.ID] = a
		j.running++
		c.installBackupLocked(r, j, nil, now)
	}
	for _, w := range c.workers {
		if w.info.State != task.WorkerLost && len(w.leases) == 0 && now.Sub(w.info.LastSeen) > c.cfg.LeaseTTL {
			w.info.State = task.WorkerLost
		}
	}
	due, err := c.st.TaskFailedDue(ctx)
	if err != nil {
		return fmt.Errorf("load retries: %w", err)
	}
	c.wakes = c.wakes[:0]
	if !due.IsZero() {
		c.wakes.push(due)
	}
	return nil
}

// newJobRT builds the in-memory view of a job from its definition.
func (c *Coordinator) newJobRT(j *task.Job) *jobRT {
	c.jobSeq++
	rt := &jobRT{job: j, seq: c.jobSeq}
	index := map[string]int{}
	for i := range j.Stages {
		index[j.Stages[i].Name] = i
		rt.stages = append(rt.stages, &stageRT{idx: i, def: &j.Stages[i], state: task.StageRunning})
	}
	for i, s := range rt.stages {
		for _, a := range s.def.After {
			if a == task.InputStage {
				s.fromInput = true
				continue
			}
			u := index[a]
			s.upstream = append(s.upstream, u)
			rt.stages[u].downstream = append(rt.stages[u].downstream, i)
		}
	}
	// Topological order (the spec was checked for cycles at submit).
	seen := make([]bool, len(rt.stages))
	var visit func(i int)
	visit = func(i int) {
		if seen[i] {
			return
		}
		seen[i] = true
		for _, u := range rt.stages[i].upstream {
			visit(u)
		}
		rt.topo = append(rt.topo, i)
	}
	for i := range rt.stages {
		visit(i)
	}
	return rt
}

func opSet(ops []string) map[string]bool {
	m := make(map[string]bool, len(ops))
	for _, o := range ops {
		m[o] = true
	}
	return m
}

// signalWorkLocked wakes requests waiting for work.
func (c *Coordinator) signalWorkLocked() {
	close(c.workCh)
	c.workCh = make(chan struct{})
}

// signalJobsLocked wakes watchers of job states.
func (c *Coordinator) signalJobsLocked() {
	close(c.jobCh)
	c.jobCh = make(chan struct{})
}

// timeHeap is a min-heap of times.
type timeHeap []time.Time

func (h *timeHeap) push(t time.Time) {
	*h = append(*h, t)
	i := len(*h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !(*h)[i].Before((*h)[p]) {
			break
		}
		(*h)[i], (*h)[p] = (*h)[p], (*h)[i]
		i = p
	}
}

func (h timeHeap) peek() (time.Time, bool) {
	if len(h) == 0 {
		return time.Time{}, false
	}
	return h[0], true
}

func (h *timeHeap) pop() {
	old := *h
	n := len(old) - 1
	old[0] = old[n]
	*h = old[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && (*h)[l].Before((*h)[m]) {
			m = l
		}
		if r < n && (*h)[r].Before((*h)[m]) {
			m = r
		}
		if m == i {
			return
		}
		(*h)[i], (*h)[m] = (*h)[m], (*h)[i]
		i = m
	}
}
