package crowd

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
)

// DefaultRefitEvery is how many new answers make an Estimator's model
// stale. Refitting costs one Dawid-Skene run over all answers so far
// (about 5 ms for RTE's 8,000 answers); every hundred answers keeps the
// estimates fresh at a negligible cost next to the time people take to
// give a hundred answers.
const DefaultRefitEvery = 100

// DefaultShrink is EstimatorOptions.Shrink's default: a worker's own
// estimate counts as much as the crowd's after ten answers.
const DefaultShrink = 10

// EstimatorOptions configures an Estimator.
type EstimatorOptions struct {
	// DS configures each fit. Set DS.Labels to the task's label set when
	// it is known, so that the label order never changes between fits.
	// DS.WarmStart is ignored: each fit warm-starts from the previous one.
	DS DSOptions
	// RefitEvery is the number of answers added since the last fit that
	// makes Model refit (0 means DefaultRefitEvery).
	RefitEvery int
	// Shrink is the strength, in answers, with which each worker's
	// estimate is pulled towards the crowd's typical worker in the model
	// served (see WorkerModel.Shrunk). 0 means DefaultShrink; a negative
	// value disables it. The Result of a fit is never shrunk.
	Shrink float64
	// Cold is the model served before the first fit (and the model of an
	// empty answer set). Nil: a nil model, which RedundancyPolicy treats
	// as "no estimate yet".
	Cold *WorkerModel
}

// Estimator keeps per-worker quality estimates current as answers
// arrive, for an engine that must judge items (RedundancyPolicy) or
// annotators while a job runs. It re-runs Dawid-Skene over all answers so
// far every RefitEvery answers, warm-started from the previous fit (see
// DSOptions.WarmStart), and serves the fit's model shrunk towards the
// typical worker (see WorkerModel.Shrunk). It is safe for concurrent use;
// fits run outside the lock that Add takes, so adding answers never waits
// for a fit.
type Estimator struct {
	opts   EstimatorOptions
	every  int
	shrink float64

	fitMu sync.Mutex // serialises fits

	mu      sync.Mutex
	answers []Answer
	pending int // answers added since the last fit started
	model   *WorkerModel
	result  *Result
}

// NewEstimator returns an Estimator with no answers.
func NewEstimator(opts EstimatorOptions) (*Estimator, error) {
	opts.DS.WarmStart = nil
	if err := opts.DS.Validate(); err != nil {
		return nil, fmt.Errorf("new estimator: %w", err)
	}
	if opts.RefitEvery < 0 {
		return nil, fmt.Errorf("new estimator: %w: RefitEvery %d, want ≥ 0", ErrInput, opts.RefitEvery)
	}
	if opts.Cold != nil {
		if err := opts.Cold.Validate(); err != nil {
			return nil, fmt.Errorf("new estimator: Cold: %w", err)
		}
	}
	return &Estimator{
		opts:   opts,
		every:  cmp.Or(opts.RefitEvery, DefaultRefitEvery),
		shrink: max(0, cmp.Or(opts.Shrink, DefaultShrink)),
		model:  opts.Cold,
	}, nil
}

// Add records answers. It does not fit.
func (e *Estimator) Add(answers ...Answer) {
	e.mu.Lock()
	e.answers = append(e.answers, answers...)
	e.pending += len(answers)
	e.mu.Unlock()
}

// Len returns the number of answers recorded.
func (e *Estimator) Len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.answers)
}

// Model returns the current worker model, refitting first if RefitEvery
// answers arrived since the last fit. Before the first fit it returns
// the Cold model.
func (e *Estimator) Model(ctx context.Context) (*WorkerModel, error) {
	e.mu.Lock()
	stale := e.pending >= e.every
	m := e.model
	e.mu.Unlock()
	if !stale {
		return m, nil
	}
	if _, err := e.refit(ctx, false); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.model, nil
}

// Result returns the last fit (nil before the first).
func (e *Estimator) Result() *Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.result
}

// Refit runs Dawid-Skene over all answers recorded so far and makes it
// the current model, whatever the number of new answers. With no answers
// it returns (nil, nil) and keeps the current model.
func (e *Estimator) Refit(ctx context.Context) (*Result, error) {
	return e.refit(ctx, true)
}

// refit fits unless, without force, a concurrent fit has meanwhile
// absorbed the answers that made the model stale.
func (e *Estimator) refit(ctx context.Context, force bool) (*Result, error) {
	e.fitMu.Lock()
	defer e.fitMu.Unlock()
	e.mu.Lock()
	if !force && e.pending < e.every {
		res := e.result
		e.mu.Unlock()
		return res, nil
	}
	snap := e.answers[:len(e.answers):len(e.answers)] // later appends cannot touch it
	taken := e.pending
	warm := e.result
	e.mu.Unlock()
	if len(snap) == 0 {
		return nil, nil
	}

	opts := e.opts.DS
	if warm != nil && (len(opts.Labels) > 0 || labelsWithin(snap, warm.Labels)) {
		opts.WarmStart = warm.Model()
	}
	res, err := DawidSkene(ctx, snap, opts)
	if err != nil {
		return nil, fmt.Errorf("refit: %w", err)
	}
	e.mu.Lock()
	e.result = res
	e.model = res.Model().Shrunk(e.shrink)
	e.pending -= taken
	e.mu.Unlock()
	return res, nil
}

// labelsWithin reports whether every answer's label is in labels, i.e.
// whether a model over labels can warm-start a fit of answers.
func labelsWithin(answers []Answer, labels []string) bool {
	for _, a := range answers {
		if !slices.Contains(labels, a.Label) {
			return false
		}
	}
	return true
}
