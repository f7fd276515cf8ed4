package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// Info describes a built-in operator.
type Info struct {
	Name   string
	Reduce bool // stages using it are reduce stages unless they say kind
	Doc    string
}

// Options configures the built-ins.
type Options struct {
	// Exec configures the exec operator.
	Exec ExecOptions
	// SleepScale multiplies the sleep operator's durations (default 1):
	// a worker that plays a slow host, for benchmarks and tests.
	SleepScale float64
}

// Builtins lists the built-in operators.
func Builtins() []Info {
	return []Info{
		{Name: "noop", Doc: "returns its items unchanged"},
		{Name: "sleep", Doc: "waits params.ms milliseconds (or an item's sleep_ms) per microtask, then returns its items"},
		{Name: "exec", Doc: "runs an allowed command per item (or per microtask) with JSON on stdin and stdout"},
		{Name: "wordcount", Doc: "counts the words of each text item (a string, or an object's text field)"},
		{Name: "hash", Doc: "returns {\"sha256\": hex} of each item (a string's text, else its compact JSON); params.rounds rehashes"},
		{Name: "sum", Reduce: true, Doc: "adds up numbers and maps of numbers across all items into one item"},
	}
}

// Register adds the built-in operators to r.
func Register(r *worker.Registry, opt Options) {
	r.Handle("noop", noop)
	r.Handle("sleep", newSleep(opt.SleepScale))
	r.Handle("exec", newExec(opt.Exec))
	r.Handle("wordcount", worker.MapItems(wordcount))
	r.Handle("hash", worker.MapItems(hashOp))
	r.Handle("sum", sum)
}

func noop(_ context.Context, t *worker.Task) ([]task.Item, error) { return t.Items, nil }

type sleepParams struct {
	MS float64 `json:"ms"`
}

func newSleep(scale float64) worker.Handler {
	if scale <= 0 {
		scale = 1
	}
	return func(ctx context.Context, t *worker.Task) ([]task.Item, error) { return sleep(ctx, t, scale) }
}

func sleep(ctx context.Context, t *worker.Task, scale float64) ([]task.Item, error) {
	var p sleepParams
	if err := t.DecodeParams(&p); err != nil {
		return nil, err
	}
	d := time.Duration(p.MS * float64(time.Millisecond))
	for _, it := range t.Items {
		var v struct {
			SleepMS *float64 `json:"sleep_ms"`
		}
		if json.Unmarshal(it.Data, &v) == nil && v.SleepMS != nil {
			d += time.Duration(*v.SleepMS * float64(time.Millisecond))
		}
	}
	if d < 0 {
		return nil, worker.Permanent(fmt.Errorf("sleep: negative duration %v", d))
	}
	if err := wait(ctx, time.Duration(float64(d)*scale)); err != nil {
		return nil, err
	}
	return t.Items, nil
}
