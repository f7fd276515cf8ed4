package server_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// A handler that panics fails its attempt as a crash (the worker lives
// on); one that ignores its context is cut off at its timeout and the
// slot is taken back.
func TestHandlerPanicAndHang(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	startWorker(t, b.url, 1, func(w *worker.Worker) {
		w.HandleItems("explode", func(context.Context, *worker.Task, task.Item) (any, error) { panic("kaboom") })
		w.HandleItems("hang", func(context.Context, *worker.Task, task.Item) (any, error) { select {} })
	})
	c := client.New(b.url, client.WithToken(testToken))
	zero := 0
	boom := submitJob(t, c, &spec.Job{Input: spec.Input{Items: []any{1}}, Stages: []spec.Stage{{Op: "explode", Retries: &zero}}})
	hang := submitJob(t, c, &spec.Job{Input: spec.Input{Items: []any{1}}, Stages: []spec.Stage{{Op: "hang", Retries: &zero, Timeout: "200ms"}}})
	for id, want := range map[string]string{boom: "crash: panic: kaboom", hang: "timeout: ran longer than the stage's timeout of 200ms"} {
		st, err := c.Wait(ctxT(t, 30*time.Second), id, nil)
		if err != nil || st.State != task.JobCompletedWithErrors || len(st.Errors) != 1 {
			t.Fatalf("%v %+v", err, st)
		}
		if !strings.HasPrefix(st.Errors[0].Error, want) {
			t.Fatalf("error %q, want it to start with %q", st.Errors[0].Error, want)
		}
	}
	// The one slot is free again: a normal job still runs.
	ok := submitJob(t, c, &spec.Job{Input: spec.Input{Items: []any{1}}, Stages: []spec.Stage{{Op: "noop"}}})
	if st, err := c.Wait(ctxT(t, 30*time.Second), ok, nil); err != nil || st.State != task.JobCompleted {
		t.Fatalf("after a hang: %v %+v", err, st)
	}
}

// A draining worker takes no new work, lets running microtasks finish
// within the drain timeout, hands back those that do not, and stops; the
// handed-back ones run elsewhere without losing an attempt.
func TestWorkerDrain(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	started := make(chan string, 10)
	release := make(chan struct{})
	reg := worker.NewRegistry()
	reg.Handle("step", worker.MapItems(func(ctx context.Context, _ *worker.Task, it task.Item) (any, error) {
		started <- it.ID
		if it.ID == "quick" {
			<-release
			return "quick done", nil
		}
		<-ctx.Done() // "slow": outlives the drain timeout
		return nil, ctx.Err()
	}))
	w, err := worker.New(worker.Config{Server: b.url, Token: testToken, Slots: 2, Registry: reg, DrainTimeout: 300 * time.Millisecond, MaxWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { w.Run(ctx); close(stopped) }()
	<-w.Connected()
	c := client.New(b.url, client.WithToken(testToken))
	zero := 0
	id := submitJob(t, c, &spec.Job{Input: spec.Input{Items: []any{map[string]any{"id": "quick"}, map[string]any{"id": "slow"}, map[string]any{"id": "later"}}},
		Stages: []spec.Stage{{Op: "step", Retries: &zero}}})
	got := map[string]bool{<-started: true, <-started: true}
	if got["later"] {
		t.Fatal("the worker ran more than its 2 slots")
	}
	cancel() // SIGTERM
	close(release)
	<-stopped
	// A second worker finishes the job: "slow" was handed back (not
	// failed: retries is 0), "later" was never taken.
	var mu sync.Mutex
	seen := map[string]bool{}
	startWorker(t, b.url, 2, func(w *worker.Worker) {
		w.HandleItems("step", func(_ context.Context, _ *worker.Task, it task.Item) (any, error) {
			mu.Lock()
			seen[it.ID] = true
			mu.Unlock()
			return it.ID + " done elsewhere", nil
		})
	})
	st, err := c.Wait(ctxT(t, 30*time.Second), id, nil)
	if err != nil || st.State != task.JobCompleted {
		t.Fatalf("%v %+v", err, st)
	}
	res := results(t, c, id)
	if string(res["step/quick"].Data) != `"quick done"` || !seen["slow"] || !seen["later"] || seen["quick"] {
		t.Fatalf("results %+v, second worker saw %v", res, seen)
	}
}
