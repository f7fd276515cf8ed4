package coord

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// Defaults for Config.
const (
	DefaultLeaseTTL    = 30 * time.Second
	DefaultMaxWait     = 10 * time.Second
	DefaultMaxBatchOps = 256
	DefaultBackoffMax  = 5 * time.Minute
	DefaultMaxItems    = 2_000_000
	// Speculation defaults (see Config.SpeculateFactor etc.).
	DefaultSpeculateFactor   = 3.0
	DefaultSpeculateFraction = 0.75
	DefaultSpeculateMin      = time.Second
)

// Config configures a Coordinator.
type Config struct {
	// Store holds all state. Required.
	Store store.Store
	// Logger receives structured logs; default discards.
	Logger *slog.Logger
	// Clock tells the time; default the system clock.
	Clock Clock
	// LeaseTTL is how long a lease lives without a heartbeat from its
	// worker; a worker silent for longer is lost and its microtasks go
	// back to the queue.
	LeaseTTL time.Duration
	// MaxWait bounds how long a worker's request may wait for work (long
	// poll). It is also capped at a third of LeaseTTL.
	MaxWait time.Duration
	// BackoffMax caps the retry delay.
	BackoffMax time.Duration
	// MaxBatchOps bounds how many requests share one transaction.
	MaxBatchOps int
	// MaxItems bounds the items of one job.
	MaxItems int
	// NoLocality turns off the preference for running a microtask on the
	// worker that produced its inputs (and so holds their blobs).
	NoLocality bool
	// NoSpeculation turns off speculative copies of straggling
	// microtasks (see speculate.go); jobs and stages can also turn them
	// off with speculate: false.
	NoSpeculation bool
	// SpeculateFactor: a microtask is a straggler once it has run this
	// many times its stage's typical time (a moving average of recent
	// microtasks). Default 3.
	SpeculateFactor float64
	// SpeculateMin: and at least this long. Default 1s.
	SpeculateMin time.Duration
	// SpeculateFraction: stragglers are copied once nothing of their
	// stage is left queued, or this fraction of it is done. Default 0.75.
	SpeculateFraction float64
	// Ops are the operators every job may use besides those announced by
	// workers (e.g. the built-in operators of the bundled worker).
	Ops map[string]OpInfo
	// Hooks report what happens, for metrics; each may be nil.
	Hooks Hooks
}

// OpInfo describes an operator to the spec validator.
type OpInfo struct {
	Name string
	// Reduce makes a stage using it a reduce stage unless it says kind.
	Reduce bool
	// Check, if set, checks a stage's params at submit (see
	// spec.ParamChecker); errors name fields relative to the params.
	Check func(raw *spec.Stage, s *task.Stage) []spec.ParamError
	// Expand, if set, unrolls a stage into a fixed sub-DAG of stages at
	// submit (see spec.Expander); nil from it keeps the stage.
	Expand func(s *task.Stage) []task.Stage
}

func (c *Config) withDefaults() Config {
	out := *c
	out.Logger = cmp.Or(out.Logger, slog.New(slog.DiscardHandler))
	if out.Clock == nil {
		out.Clock = SystemClock{}
	}
	out.LeaseTTL = cmp.Or(out.LeaseTTL, DefaultLeaseTTL)
	out.MaxWait = min(cmp.Or(out.MaxWait, DefaultMaxWait), out.LeaseTTL/3)
	out.BackoffMax = cmp.Or(out.BackoffMax, DefaultBackoffMax)
	out.MaxBatchOps = cmp.Or(out.MaxBatchOps, DefaultMaxBatchOps)
	out.MaxItems = cmp.Or(out.MaxItems, DefaultMaxItems)
	out.SpeculateFactor = cmp.Or(out.SpeculateFactor, DefaultSpeculateFactor)
	out.SpeculateFraction = cmp.Or(out.SpeculateFraction, DefaultSpeculateFraction)
	out.SpeculateMin = cmp.Or(out.SpeculateMin, DefaultSpeculateMin)
	return out
}

// Validate names the first bad field.
func (c *Config) Validate() error {
	switch {
	case c.Store == nil:
		return errors.New("coordinator config: Store is required")
	case c.LeaseTTL < 0:
		return fmt.Errorf("coordinator config: LeaseTTL %v is negative", c.LeaseTTL)
	case c.LeaseTTL > 0 && c.LeaseTTL < 100*time.Millisecond:
		return fmt.Errorf("coordinator config: LeaseTTL %v is below 100ms", c.LeaseTTL)
	case c.MaxItems < 0:
		return fmt.Errorf("coordinator config: MaxItems %d is negative", c.MaxItems)
	case c.SpeculateFactor < 0 || c.SpeculateFactor > 0 && c.SpeculateFactor < 1:
		return fmt.Errorf("coordinator config: SpeculateFactor %v: want at least 1", c.SpeculateFactor)
	case c.SpeculateFraction < 0 || c.SpeculateFraction > 1:
		return fmt.Errorf("coordinator config: SpeculateFraction %v is out of range (0..1)", c.SpeculateFraction)
	case c.SpeculateMin < 0:
		return fmt.Errorf("coordinator config: SpeculateMin %v is negative", c.SpeculateMin)
	}
	return nil
}

// Clock tells the time; tests substitute their own.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }
