package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/task"
)

// Task is one microtask as a handler sees it.
type Task struct {
	ID      int64
	Job     string
	Stage   string
	Op      string
	Params  json.RawMessage
	Items   []task.Item
	Attempt int
	// Deadline is when the stage's timeout ends this attempt.
	Deadline time.Time
	// Blobs reads and writes images, tensors and models by content hash
	// (the worker's cache over the coordinator's blob store).
	Blobs blob.Store

	mu       sync.Mutex
	metrics  []task.MetricPoint
	recorded func() // tells the worker a point was recorded (progress.go)
}

// Metric records a point of the job's metrics (a training curve: loss or
// accuracy at an epoch, round or fold). While the microtask runs, its
// points so far go to the coordinator with the worker's next round trip
// (within about a second) and show live; they are stored with the
// microtask's completion, only if it is accepted, so a failed or retried
// attempt leaves no duplicate curve. Safe for concurrent use.
func (t *Task) Metric(name string, step int, value float64) {
	t.SeriesMetric("", name, step, value)
}

// SeriesMetric is Metric for one of several curves of a stage and name,
// e.g. series "fold 2" of a cross-validation.
func (t *Task) SeriesMetric(series, name string, step int, value float64) {
	t.mu.Lock()
	t.metrics = append(t.metrics, task.MetricPoint{Series: series, Name: name, Step: step, Value: value})
	t.mu.Unlock()
	if t.recorded != nil {
		t.recorded()
	}
}

// metricCount is how many points have been recorded.
func (t *Task) metricCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.metrics)
}

// Metrics returns the points recorded so far.
func (t *Task) Metrics() []task.MetricPoint {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]task.MetricPoint(nil), t.metrics...)
}

// DecodeParams decodes the stage's params into v, rejecting unknown
// fields so that a typo in a job spec is an error rather than a default.
func (t *Task) DecodeParams(v any) error {
	if len(t.Params) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytesReader(t.Params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Permanent(fmt.Errorf("stage %s: params: %w", t.Stage, err))
	}
	return nil
}

// Handler runs one microtask and returns its output items. A map
// operator usually returns one item per input with the same id; a filter
// returns fewer; an operator that fans out derives new ids.
type Handler func(ctx context.Context, t *Task) ([]task.Item, error)

// ItemFunc maps one item to its output data (any JSON-encodable value, or
// json.RawMessage).
type ItemFunc func(ctx context.Context, t *Task, it task.Item) (any, error)

// MapItems turns an ItemFunc into a Handler that keeps item ids.
func MapItems(fn ItemFunc) Handler {
	return func(ctx context.Context, t *Task) ([]task.Item, error) {
		out := make([]task.Item, 0, len(t.Items))
		for _, it := range t.Items {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			v, err := fn(ctx, t, it)
			if err != nil {
				return nil, fmt.Errorf("item %s: %w", it.ID, err)
			}
			data, err := marshalData(v)
			if err != nil {
				return nil, Permanent(fmt.Errorf("item %s: encode output: %w", it.ID, err))
			}
			out = append(out, task.Item{ID: it.ID, Data: data})
		}
		return out, nil
	}
}

func marshalData(v any) (json.RawMessage, error) {
	if raw, ok := v.(json.RawMessage); ok {
		if !json.Valid(raw) {
			return nil, errors.New("invalid JSON")
		}
		return raw, nil
	}
	return json.Marshal(v)
}

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying (the input itself is bad):
// the microtask is dead at once instead of retried.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// Registry maps operator names to handlers.
type Registry struct {
	mu       sync.RWMutex
	handlers map[string]Handler
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{handlers: map[string]Handler{}} }

// Handle registers h for op, replacing any earlier handler.
func (r *Registry) Handle(op string, h Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handlers[op] = h
}

// Lookup returns op's handler.
func (r *Registry) Lookup(op string) (Handler, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	h, ok := r.handlers[op]
	return h, ok
}

// Ops lists the registered operators, sorted.
func (r *Registry) Ops() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.handlers))
	for op := range r.handlers {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}
