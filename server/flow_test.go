package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// square maps {"n": x} to {"n": x, "sq": x*x}.
func square(_ context.Context, _ *worker.Task, it task.Item) (any, error) {
	var v struct {
		N int `json:"n"`
	}
	if err := json.Unmarshal(it.Data, &v); err != nil {
		return nil, worker.Permanent(err)
	}
	return map[string]int{"n": v.N, "sq": v.N * v.N}, nil
}

// plusOne maps {"n", "sq"} to {"n", "sq", "r": sq+1}.
func plusOne(_ context.Context, _ *worker.Task, it task.Item) (any, error) {
	var v map[string]int
	if err := json.Unmarshal(it.Data, &v); err != nil {
		return nil, worker.Permanent(err)
	}
	v["r"] = v["sq"] + 1
	return v, nil
}

func numbers(n int) []any {
	items := make([]any, n)
	for i := range items {
		items[i] = map[string]any{"id": fmt.Sprintf("i%d", i), "n": i}
	}
	return items
}

func submitJob(t *testing.T, c *client.Client, j *spec.Job) string {
	t.Helper()
	sub, err := c.Submit(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	return sub.ID
}

// Many items through two map stages with different batch sizes (so items
// wait in the buffer between stages), on three workers: every item has
// exactly one result, equal to the expected one.
func TestEveryItemExactlyOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	for _, slots := range []int{1, 4, 16} {
		startWorker(t, b.url, slots, func(w *worker.Worker) {
			w.HandleItems("square", square)
			w.HandleItems("plus1", plusOne)
		})
	}
	c := client.New(b.url, client.WithToken(testToken))
	const n = 2000
	id := submitJob(t, c, &spec.Job{Name: "squares", Input: spec.Input{Items: numbers(n)}, Stages: []spec.Stage{
		{Name: "sq", Op: "square", Batch: 7},
		{Name: "r", Op: "plus1", Batch: 10},
	}})
	st, err := c.Wait(ctxT(t, time.Minute), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != task.JobCompleted {
		t.Fatalf("state %s: %+v", st.State, st.Errors)
	}
	if got, want := st.Stages[0].Counts.Done, int64((n+6)/7); got != want {
		t.Errorf("stage sq: %d microtasks done, want %d", got, want)
	}
	if st.Stages[1].Counts.Pending != 0 || st.Stages[1].Counts.Done != n/10 {
		t.Errorf("stage r: %+v", st.Stages[1].Counts)
	}
	res := results(t, c, id)
	if len(res) != n {
		t.Fatalf("%d results, want %d", len(res), n)
	}
	for i := 0; i < n; i++ {
		l, ok := res[fmt.Sprintf("r/i%d", i)]
		if !ok {
			t.Fatalf("item i%d has no result", i)
		}
		var v map[string]int
		json.Unmarshal(l.Data, &v)
		if v["n"] != i || v["r"] != i*i+1 {
			t.Fatalf("item i%d: got %s", i, l.Data)
		}
	}
}

// An item moves to the next stage as soon as its microtask is done: the
// second stage processes items while one microtask of the first is still
// running.
func TestNoStageBarrier(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	release := make(chan struct{})
	seen := make(chan string, 100)
	startWorker(t, b.url, 4, func(w *worker.Worker) {
		w.HandleItems("gate", func(ctx context.Context, _ *worker.Task, it task.Item) (any, error) {
			if it.ID == "slow" {
				select {
				case <-release:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			return it.Data, nil
		})
		w.HandleItems("record", func(_ context.Context, _ *worker.Task, it task.Item) (any, error) {
			seen <- it.ID
			return it.Data, nil
		})
	})
	c := client.New(b.url, client.WithToken(testToken))
	items := []any{map[string]any{"id": "slow"}}
	for i := 0; i < 5; i++ {
		items = append(items, map[string]any{"id": fmt.Sprint(i)})
	}
	id := submitJob(t, c, &spec.Job{Input: spec.Input{Items: items}, Stages: []spec.Stage{{Name: "a", Op: "gate"}, {Name: "b", Op: "record"}}})
	got := map[string]bool{}
	for len(got) < 5 {
		select {
		case s := <-seen:
			if s == "slow" {
				t.Fatal("the slow item passed its gate before being released")
			}
			got[s] = true
		case <-time.After(30 * time.Second):
			t.Fatalf("stage b saw only %v while stage a was still running", got)
		}
	}
	close(release)
	st, err := c.Wait(ctxT(t, 30*time.Second), id, nil)
	if err != nil || st.State != task.JobCompleted {
		t.Fatalf("%v %+v", err, st)
	}
	if s := <-seen; s != "slow" {
		t.Fatalf("last item seen by stage b: %s", s)
	}
}

// A failing microtask is retried with backoff and ends dead with its last
// error; the job ends completed_with_errors and its other items are fine.
func TestRetriesThenDead(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	var attempts sync.Map
	startWorker(t, b.url, 2, func(w *worker.Worker) {
		w.HandleItems("flaky", func(_ context.Context, tk *worker.Task, it task.Item) (any, error) {
			n, _ := attempts.LoadOrStore(it.ID, new(atomic.Int32))
			k := n.(*atomic.Int32).Add(1)
			switch it.ID {
			case "bad":
				return nil, fmt.Errorf("always fails (attempt %d)", tk.Attempt)
			case "once":
				if k == 1 {
					return nil, errors.New("fails the first time")
				}
			case "input":
				return nil, worker.Permanent(errors.New("bad input, not retried"))
			}
			return it.Data, nil
		})
	})
	c := client.New(b.url, client.WithToken(testToken))
	retries := 2
	id := submitJob(t, c, &spec.Job{Input: spec.Input{Items: []any{
		map[string]any{"id": "ok"}, map[string]any{"id": "bad"}, map[string]any{"id": "once"}, map[string]any{"id": "input"},
	}}, Stages: []spec.Stage{{Op: "flaky", Retries: &retries, Backoff: "10ms"}}})
	st, err := c.Wait(ctxT(t, 30*time.Second), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != task.JobCompletedWithErrors || st.Counts.Dead != 2 || st.Counts.Done != 2 {
		t.Fatalf("status: %s %+v", st.State, st.Counts)
	}
	count := func(id string) int32 { v, _ := attempts.Load(id); return v.(*atomic.Int32).Load() }
	if count("bad") != 3 || count("once") != 2 || count("input") != 1 || count("ok") != 1 {
		t.Fatalf("attempts: bad %d once %d input %d ok %d", count("bad"), count("once"), count("input"), count("ok"))
	}
	var msgs []string
	for _, e := range st.Errors {
		msgs = append(msgs, e.Error)
	}
	all := strings.Join(msgs, "|")
	if !strings.Contains(all, "always fails (attempt 3)") || !strings.Contains(all, "bad input, not retried") {
		t.Fatalf("errors: %v", msgs)
	}
	res := results(t, c, id)
	if res["flaky/bad"].Error == "" || res["flaky/ok"].Error != "" || len(res) != 4 {
		t.Fatalf("results: %+v", res)
	}
}

// A worker never runs more microtasks at once than its slots, and stages
// asking for labels run only on workers that have them.
func TestSlotsAndLabels(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	var running, peak atomic.Int32
	var onGPU atomic.Int32
	busy := func(gpu bool) func(w *worker.Worker) {
		return func(w *worker.Worker) {
			w.HandleItems("busy", func(ctx context.Context, _ *worker.Task, it task.Item) (any, error) {
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				if gpu {
					onGPU.Add(1)
				}
				time.Sleep(2 * time.Millisecond) // the work itself
				running.Add(-1)
				return gpu, nil
			})
		}
	}
	startWorker(t, b.url, 3, busy(false))
	reg := worker.NewRegistry()
	wg, err := worker.New(worker.Config{Server: b.url, Token: testToken, Slots: 2, Labels: map[string]string{"gpu": "1"}, Registry: reg, MaxWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	busy(true)(wg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { wg.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-wg.Connected()
	c := client.New(b.url, client.WithToken(testToken))
	id := submitJob(t, c, &spec.Job{Input: spec.Input{Items: numbers(200)}, Stages: []spec.Stage{
		{Name: "any", Op: "busy"},
		{Name: "gpu", Op: "busy", Labels: map[string]string{"gpu": "1"}},
	}})
	if st, err := c.Wait(ctxT(t, time.Minute), id, nil); err != nil || st.State != task.JobCompleted {
		t.Fatalf("%v %+v", err, st)
	}
	if p := peak.Load(); p > 5 {
		t.Fatalf("peak concurrency %d exceeds the 5 slots", p)
	}
	for k, l := range results(t, c, id) {
		if string(l.Data) != "true" {
			t.Fatalf("%s ran on a worker without the gpu label", k)
		}
	}
}

// Canceling a job stops it: its state is canceled, running microtasks are
// told to stop and nothing more is leased.
func TestCancel(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	started := make(chan struct{}, 10)
	stopped := make(chan struct{}, 10)
	startWorker(t, b.url, 2, func(w *worker.Worker) {
		w.HandleItems("hang", func(ctx context.Context, _ *worker.Task, it task.Item) (any, error) {
			started <- struct{}{}
			<-ctx.Done()
			stopped <- struct{}{}
			return nil, ctx.Err()
		})
	})
	c := client.New(b.url, client.WithToken(testToken))
	id := submitJob(t, c, &spec.Job{Input: spec.Input{Items: numbers(10)}, Stages: []spec.Stage{{Op: "hang"}}})
	<-started
	<-started
	st, err := c.Cancel(context.Background(), id)
	if err != nil || st.State != task.JobCanceled {
		t.Fatalf("%v %+v", err, st)
	}
	<-stopped
	<-stopped
	if st.Counts.Canceled != 10 || st.Counts.Open() != 0 {
		t.Fatalf("counts after cancel: %+v", st.Counts)
	}
	if _, err := c.Cancel(context.Background(), id); err == nil || !strings.Contains(err.Error(), "already ended") {
		t.Fatalf("second cancel: %v", err)
	}
}

// An operator may drop items with a reason: they go no further, are not
// in the results, and are listed with the reason in the job's report.
func TestDroppedItems(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	var mu sync.Mutex
	seenByReduce := 0
	startWorker(t, b.url, 2, func(w *worker.Worker) {
		w.Handle("odd-out", func(_ context.Context, tk *worker.Task) ([]task.Item, error) {
			out := make([]task.Item, len(tk.Items))
			for i, it := range tk.Items {
				out[i] = it
				var v struct{ N int }
				json.Unmarshal(it.Data, &v)
				if v.N%2 == 1 {
					out[i].Dropped = fmt.Sprintf("%d is odd", v.N)
				}
			}
			return out, nil
		})
		w.Handle("count", func(_ context.Context, tk *worker.Task) ([]task.Item, error) {
			mu.Lock()
			seenByReduce = len(tk.Items)
			mu.Unlock()
			return []task.Item{{ID: "n", Data: json.RawMessage(fmt.Sprint(len(tk.Items)))}}, nil
		})
	})
	c := client.New(b.url, client.WithToken(testToken))
	id := submitJob(t, c, &spec.Job{Input: spec.Input{Items: numbers(10)}, Stages: []spec.Stage{
		{Name: "filter", Op: "odd-out", Batch: 3},
		{Name: "even", Op: "noop", After: []string{"filter"}},
		{Name: "total", Op: "count", Kind: task.Reduce, After: []string{"filter"}},
	}})
	if st, err := c.Wait(ctxT(t, 30*time.Second), id, nil); err != nil || st.State != task.JobCompleted {
		t.Fatalf("%v %+v", err, st)
	}
	res := results(t, c, id, "even")
	if len(res) != 5 || res["even/i4"].Data == nil || res["even/i3"].Data != nil {
		t.Fatalf("even results: %v", res)
	}
	if len(results(t, c, id, "filter")) != 5 {
		t.Fatal("dropped items appear in the filter stage's results")
	}
	mu.Lock()
	if seenByReduce != 5 {
		t.Fatalf("the reduce stage saw %d items, want the 5 kept", seenByReduce)
	}
	mu.Unlock()
	dropped := map[string]string{}
	if err := c.Dropped(context.Background(), id, func(l *api.ResultLine) error {
		dropped[l.Stage+"/"+l.ID] = l.Dropped
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(dropped) != 5 || dropped["filter/i7"] != "7 is odd" {
		t.Fatalf("dropped report: %v", dropped)
	}
}

// A microtask whose inputs a worker produced runs on that worker (whose
// blob cache holds them) unless locality is off.
func TestLocalityPreference(t *testing.T) {
	t.Parallel()
	for _, off := range []bool{false, true} {
		b := setup(t, coord.Config{NoLocality: off}, "")
		var mu sync.Mutex
		ran := map[string]map[string]string{"a": {}, "b": {}} // stage → item → worker
		for _, name := range []string{"w1", "w2"} {
			startWorker(t, b.url, 2, func(w *worker.Worker) {
				// Stage a fans each item out into three, so more stage-b
				// work appears than the producer has slots for.
				w.Handle("mark", func(_ context.Context, tk *worker.Task) ([]task.Item, error) {
					mu.Lock()
					defer mu.Unlock()
					var out []task.Item
					for _, it := range tk.Items {
						if tk.Stage == "a" {
							for k := 0; k < 3; k++ {
								id := fmt.Sprintf("%s.%d", it.ID, k)
								ran["a"][id] = name
								out = append(out, task.Item{ID: id, Data: it.Data})
							}
							continue
						}
						ran["b"][it.ID] = name
						out = append(out, it)
					}
					return out, nil
				})
			})
		}
		c := client.New(b.url, client.WithToken(testToken))
		id := submitJob(t, c, &spec.Job{Input: spec.Input{Items: numbers(400)}, Stages: []spec.Stage{
			{Name: "a", Op: "mark"}, {Name: "b", Op: "mark"},
		}})
		if st, err := c.Wait(ctxT(t, time.Minute), id, nil); err != nil || st.State != task.JobCompleted {
			t.Fatalf("%v %+v", err, st)
		}
		same := 0
		for item, w := range ran["a"] {
			if ran["b"][item] == w {
				same++
			}
		}
		t.Logf("locality off=%v: %d of 1200 items ran both stages on the same worker", off, same)
		if !off && same < 1080 {
			t.Fatalf("with locality, only %d of 1200 items stayed on their worker", same)
		}
	}
}
