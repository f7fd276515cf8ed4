package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/ops"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// A worker with prefetch holds leases beyond its slots but runs no more
// handlers at once than it has slots; the queued ones run as slots free.
func TestWorkerPrefetchQueuesBeyondSlots(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	c := client.New(b.url, client.WithToken(testToken))
	gate := make(chan struct{})
	var mu sync.Mutex
	running, maxRunning, started := 0, 0, 0
	reg := worker.NewRegistry()
	ops.Register(reg, ops.Options{})
	reg.Handle("gate", func(ctx context.Context, tk *worker.Task) ([]task.Item, error) {
		mu.Lock()
		running++
		started++
		maxRunning = max(maxRunning, running)
		mu.Unlock()
		defer func() { mu.Lock(); running--; mu.Unlock() }()
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return tk.Items, nil
	})
	w, err := worker.New(worker.Config{Server: b.url, Token: testToken, Slots: 1, Prefetch: 3, Registry: reg, MaxWait: time.Second, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	connected(t, w)
	id := submitJob(t, c, &spec.Job{Input: spec.Input{Items: []any{1, 2, 3, 4}}, Stages: []spec.Stage{{Op: "gate"}}})
	// All four get leased to the one-slot worker...
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := c.Job(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Counts.Running == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("running %d, want all 4 leased to the worker (slots 1 + prefetch 3)", st.Counts.Running)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// ...but only one handler runs.
	mu.Lock()
	if started != 1 {
		t.Errorf("%d handlers started with 1 slot, want 1", started)
	}
	mu.Unlock()
	close(gate)
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	st, err := c.Wait(wctx, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Counts.Done != 4 {
		t.Fatalf("done %d, want 4", st.Counts.Done)
	}
	mu.Lock()
	defer mu.Unlock()
	if maxRunning != 1 {
		t.Errorf("up to %d handlers ran at once on 1 slot, want 1", maxRunning)
	}
}

// The coordinator grants up to slots+prefetch and refuses a want above it.
func TestSyncWantBoundedBySlotsPlusPrefetch(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	c := client.New(b.url, client.WithToken(testToken))
	wi := handWorker("P")
	wi.Prefetch = 2
	rawSync(t, b.url, &api.SyncRequest{Worker: wi, Seq: 1})
	submitJob(t, c, &spec.Job{Input: spec.Input{Items: []any{1, 2, 3, 4, 5}}, Stages: []spec.Stage{{Op: "noop"}}})
	got := rawSync(t, b.url, &api.SyncRequest{Worker: wi, Seq: 2, Want: 3})
	if len(got.Leases) != 3 {
		t.Fatalf("got %d leases, want 3 (1 slot + 2 prefetch)", len(got.Leases))
	}
	for _, bad := range []api.SyncRequest{
		{Worker: wi, Seq: 3, Want: 4},
		{Worker: api.WorkerInfo{ID: "Q", Name: "Q", Slots: 1, Prefetch: -1, Ops: []string{"noop"}}, Seq: 1},
	} {
		body, _ := json.Marshal(&bad)
		res, err := authPost(b.url+"/v1/workers/sync", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("want %d prefetch %d: status %d, want 400", bad.Want, bad.Worker.Prefetch, res.StatusCode)
		}
	}
}

// A draining worker hands back the leases still queued for a slot at
// once, and lets the running one finish.
func TestWorkerDrainHandsBackQueued(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	c := client.New(b.url, client.WithToken(testToken))
	gate := make(chan struct{})
	var started atomic.Int64
	reg := worker.NewRegistry()
	reg.Handle("gate", func(ctx context.Context, tk *worker.Task) ([]task.Item, error) {
		started.Add(1)
		<-gate // ignores ctx: it finishes when the test says
		return tk.Items, nil
	})
	w, err := worker.New(worker.Config{Server: b.url, Token: testToken, Slots: 1, Prefetch: 3, Registry: reg, MaxWait: time.Second,
		DrainTimeout: time.Minute, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	connected(t, w)
	id := submitJob(t, c, &spec.Job{Input: spec.Input{Items: []any{1, 2, 3, 4}}, Stages: []spec.Stage{{Op: "gate"}}})
	waitCounts := func(what string, ok func(task.Counts) bool) task.Counts {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			st, err := c.Job(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if ok(st.Counts) {
				return st.Counts
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: counts %+v", what, st.Counts)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitCounts("all four leased", func(n task.Counts) bool { return n.Running == 4 })
	cancel() // drain
	got := waitCounts("the three queued handed back", func(n task.Counts) bool { return n.Running == 1 && n.Ready == 3 })
	if s := started.Load(); s != 1 {
		t.Errorf("%d handlers started, want 1 (counts %+v)", s, got)
	}
	close(gate)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not finish draining")
	}
	waitCounts("the running one done", func(n task.Counts) bool { return n.Done == 1 && n.Ready == 3 })
}
