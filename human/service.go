package human

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/store"
)

// Defaults for Config.
const (
	DefaultUndoWindow  = 10 * time.Second
	DefaultRefitEvery  = 100
	DefaultSweepEvery  = time.Second
	DefaultMaxBatchOps = 256
	// WorkerID is the id under which the Service leases human stages'
	// microtasks from the coordinator.
	WorkerID = "myriad-human"
	// maxStages bounds the human stages collected at once.
	maxStages = 10_000
)

var (
	// ErrNotFound: no such annotator, task or stage (for this annotator).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request does not fit the current state (e.g. an
	// answer to a task whose lease expired and was handed to someone else).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the request itself is wrong.
	ErrInvalid = errors.New("invalid request")
	// ErrUnauthorized: no valid annotator credentials.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrStopped: the service is not running.
	ErrStopped = errors.New("human service stopped")
)

// Coordinator is what the Service needs of the coordinator: the worker
// protocol's round trip, through which it leases human stages'
// microtasks; Wake, which answers the Service's waiting long poll at once
// so that a finished stage is reported without waiting it out; and job
// status, to name stages. *coord.Coordinator has all three.
type Coordinator interface {
	Sync(ctx context.Context, req *api.SyncRequest) (*api.SyncResponse, error)
	Wake(workerID string) bool
	Job(ctx context.Context, id string) (*api.JobStatus, error)
}

// Clock tells the time.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Config configures a Service.
type Config struct {
	// Store keeps the state. Required.
	Store store.HumanStore
	// Coord is the coordinator whose human stages the Service collects.
	// Required.
	Coord  Coordinator
	Logger *slog.Logger
	Clock  Clock
	// UndoWindow is how long an annotator may undo its last answer;
	// default 10s.
	UndoWindow time.Duration
	// RefitEvery is how many new answers to a stage make its
	// Dawid-Skene estimate of the annotators stale; default 100.
	RefitEvery int
	// SweepEvery is how often expired leases are collected; default 1s.
	// A stage closes as soon as it has what it needs, not on this tick.
	SweepEvery time.Duration
	// Seed seeds the draw of gold questions (0: from the clock).
	Seed uint64
	// MaxBatchOps bounds how many requests share one transaction.
	MaxBatchOps int
}

// Service runs human stages. Create it with New, then Start it.
type Service struct {
	cfg   Config
	st    store.HumanStore
	coord Coordinator
	log   *slog.Logger
	clock Clock

	ops  chan *op
	fits chan fitJob

	mu         sync.Mutex
	anns       map[string]*annRT // by id
	byHash     map[[32]byte]*annRT
	byName     map[string]*annRT
	stages     map[stageKey]*stageRT
	order      []*stageRT          // serving order: priority, then age
	asgs       map[int64]*asgRT    // every assignment of the stages in memory
	leased     map[int64]*asgRT    // those leased now
	done       map[stageKey]string // stages no longer in memory: why (reported, canceled)
	workCh     chan struct{}       // closed and replaced when work may be available
	newWork    bool                // set by ops that may have made work available
	bridgeKick chan struct{}
	closeKick  chan struct{} // a stage may have all it needs
	mayClose   bool          // set by ops that may have completed a stage

	startOnce, stopOnce sync.Once
	cancel              context.CancelFunc
	wg                  sync.WaitGroup
	quit                chan struct{} // closed when Stop begins
	stopped             chan struct{} // closed when Stop is done
}

// New returns a Service; it does nothing until Start.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("human config: Store is required")
	}
	if cfg.Coord == nil {
		return nil, errors.New("human config: Coord is required")
	}
	if cfg.UndoWindow < 0 || cfg.RefitEvery < 0 || cfg.SweepEvery < 0 {
		return nil, errors.New("human config: UndoWindow, RefitEvery and SweepEvery cannot be negative")
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	cfg.UndoWindow = cmp.Or(cfg.UndoWindow, DefaultUndoWindow)
	cfg.RefitEvery = cmp.Or(cfg.RefitEvery, DefaultRefitEvery)
	cfg.SweepEvery = cmp.Or(cfg.SweepEvery, DefaultSweepEvery)
	cfg.MaxBatchOps = cmp.Or(cfg.MaxBatchOps, DefaultMaxBatchOps)
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	return &Service{
		cfg: cfg, st: cfg.Store, coord: cfg.Coord, log: cfg.Logger, clock: cfg.Clock,
		ops:        make(chan *op, 1024),
		fits:       make(chan fitJob, 64),
		workCh:     make(chan struct{}),
		bridgeKick: make(chan struct{}, 1),
		closeKick:  make(chan struct{}, 1),
		quit:       make(chan struct{}),
		stopped:    make(chan struct{}),
	}, nil
}

// Start loads the state from the store and starts the writer, the
// sweeper and the bridge to the coordinator.
func (s *Service) Start(ctx context.Context) error {
	err := ErrStopped
	s.startOnce.Do(func() {
		s.mu.Lock()
		err = s.reloadLocked(ctx)
		s.mu.Unlock()
		if err != nil {
			close(s.stopped)
			return
		}
		run, cancel := context.WithCancel(context.WithoutCancel(ctx))
		s.cancel = cancel
		s.wg.Add(4)
		go func() { defer s.wg.Done(); s.writer(run) }()
		go func() { defer s.wg.Done(); s.fitter(run) }()
		go func() { defer s.wg.Done(); s.sweeper(run) }()
		go func() { defer s.wg.Done(); s.bridge(run) }()
		s.log.Info("human service started", "annotators", len(s.anns), "stages", len(s.stages))
	})
	return err
}

// Stop stops the Service. Safe to call twice and before Start.
func (s *Service) Stop() {
	s.stopOnce.Do(func() {
		close(s.quit)
		s.startOnce.Do(func() { close(s.stopped) })
		if s.cancel != nil {
			s.cancel()
			s.wg.Wait()
			close(s.stopped)
		}
	})
}

// signalWorkLocked wakes requests waiting for work.
func (s *Service) signalWorkLocked() {
	close(s.workCh)
	s.workCh = make(chan struct{})
}

// kickBridge asks the bridge for a round trip now (a stage finished).
func (s *Service) kickBridge() {
	select {
	case s.bridgeKick <- struct{}{}:
	default:
	}
}

// mayCloseLocked notes that st may now have all it needs: once the
// change commits, the sweeper looks at it (not waiting for its tick).
func (s *Service) mayCloseLocked(st *stageRT) {
	st.mayClose = true
	s.mayClose = true
}

// kickClose asks the sweeper to close the stages that may be complete.
func (s *Service) kickClose() {
	select {
	case s.closeKick <- struct{}{}:
	default:
	}
}

// fitter refits stages' annotator models outside the lock, one at a
// time, and applies each fit: open items are judged again under it.
func (s *Service) fitter(ctx context.Context) {
	for {
		var j fitJob
		select {
		case <-ctx.Done():
			return
		case j = <-s.fits:
		}
		res, err := fit(ctx, j.answers, j.known, j.st.labels, j.warm)
		if err != nil {
			s.log.Warn("refit", "job", j.st.key.job, "stage", j.st.stageName, "err", err)
		}
		err = s.do(ctx, func(ctx context.Context, tx store.HumanTx) error {
			st := j.st
			st.fitting = false
			if res == nil || s.stages[st.key] != st {
				return nil
			}
			fresh := st.fresh - j.taken
			st.useFit(res)
			st.fresh = max(fresh, 0)
			for _, it := range st.items {
				if it.rec.Kind == store.HumanTask && !it.stopped { // stopped items stay stopped
					if err := s.decideLocked(ctx, tx, st, it); err != nil {
						return err
					}
				}
			}
			s.newWork = true
			return nil
		})
		if err != nil && ctx.Err() == nil {
			s.log.Error("apply refit", "err", err)
		}
	}
}

// sweeper expires leases every SweepEvery, and closes a stage that has
// what it needs as soon as a change to it commits (closeKick).
func (s *Service) sweeper(ctx context.Context) {
	t := time.NewTicker(s.cfg.SweepEvery)
	defer t.Stop()
	for {
		all := false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			all = true
		case <-s.closeKick:
		}
		if err := s.sweep(ctx, all); err != nil && ctx.Err() == nil {
			s.log.Error("human sweep", "err", err)
		}
	}
}

// Sweep runs the periodic duties now: leases past their time are
// expired (their items go back to the queue) and stages whose items all
// have their answers are finalised.
func (s *Service) Sweep(ctx context.Context) error { return s.sweep(ctx, true) }

// sweep finalises the stages that have all they need: all of them, after
// expiring leases past their time, or (all false) only those changed
// since they were last looked at.
func (s *Service) sweep(ctx context.Context, all bool) error {
	var ready []*stageRT
	err := s.do(ctx, func(ctx context.Context, tx store.HumanTx) error {
		ready = ready[:0]
		if all {
			now := s.clock.Now()
			for _, a := range s.leased {
				if now.After(a.expires) {
					if err := s.moveLocked(ctx, tx, a, store.AssignExpired, "", 0, now); err != nil {
						return err
					}
				}
			}
		}
		for _, st := range s.order {
			if !all && !st.mayClose {
				continue
			}
			st.mayClose = false
			if s.completeLocked(st) {
				st.finalizing = true
				ready = append(ready, st)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, st := range ready {
		if err := s.finalize(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

// reloadLocked rebuilds the caches from the store.
func (s *Service) reloadLocked(ctx context.Context) error {
	s.anns, s.byHash, s.byName = map[string]*annRT{}, map[[32]byte]*annRT{}, map[string]*annRT{}
	list, err := s.st.AnnotatorList(ctx)
	if err != nil {
		return fmt.Errorf("load annotators: %w", err)
	}
	for _, a := range list {
		s.addAnnotatorLocked(a)
	}
	s.stages, s.order = map[stageKey]*stageRT{}, nil
	s.asgs, s.leased = map[int64]*asgRT{}, map[int64]*asgRT{}
	if s.done == nil {
		s.done = map[stageKey]string{}
	}
	stages, err := s.st.HumanStageList(ctx, true)
	if err != nil {
		return fmt.Errorf("load human stages: %w", err)
	}
	for _, rec := range stages {
		if err := s.loadStageLocked(ctx, rec); err != nil {
			return err
		}
	}
	return s.loadPastLocked(ctx)
}

func (s *Service) addAnnotatorLocked(a *store.Annotator) *annRT {
	rt := &annRT{rec: *a}
	copy(rt.hash[:], a.TokenHash)
	s.anns[a.ID] = rt
	s.byHash[rt.hash] = rt
	s.byName[a.Name] = rt
	return rt
}
