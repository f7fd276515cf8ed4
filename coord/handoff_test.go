package coord

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/store/sqlite"
)

// countingStore counts write transactions.
type countingStore struct {
	store.Store
	txs atomic.Int64
}

func (s *countingStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	s.txs.Add(1)
	return s.Store.InTx(ctx, fn)
}

// An idle worker's waiting poll gets the microtasks a submission makes
// ready in the submission's own transaction: one commit, not two.
func TestParkedPollServedInSubmitTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cs := &countingStore{Store: st}
	c, err := New(Config{Store: cs, Ops: map[string]OpInfo{"noop": {Name: "noop"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	w := api.WorkerInfo{ID: "w", Name: "w", Slots: 2, Ops: []string{"noop"}}
	if _, err := c.Sync(ctx, &api.SyncRequest{Worker: w, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	type result struct {
		resp *api.SyncResponse
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := c.Sync(ctx, &api.SyncRequest{Worker: w, Seq: 2, Want: 2, WaitMS: 20_000})
		got <- result{resp, err}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.mu.Lock()
		n := len(c.parked)
		c.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the poll never parked")
		}
		time.Sleep(time.Millisecond)
	}
	before := cs.txs.Load()
	sub, err := c.Compile(&spec.Job{Input: spec.Input{Items: []any{1, 2, 3}}, Stages: []spec.Stage{{Op: "noop"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Submit(ctx, sub); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("the poll did not return")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.resp.Leases) != 2 {
		t.Fatalf("the poll got %d leases, want 2", len(r.resp.Leases))
	}
	if n := cs.txs.Load() - before; n != 1 {
		t.Errorf("%d transactions from submission to leases, want 1", n)
	}
	// The leases are real: completing them is accepted.
	var done []api.Completion
	for _, l := range r.resp.Leases {
		done = append(done, api.Completion{Task: l.Task, Token: l.Token, Output: l.Items})
	}
	resp, err := c.Sync(ctx, &api.SyncRequest{Worker: w, Seq: 3, Done: done})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Accepted) != 2 || len(resp.Refused) != 0 {
		t.Errorf("accepted %v refused %v, want both accepted", resp.Accepted, resp.Refused)
	}
}

// A poll that times out while parked leaves nothing behind.
func TestParkedPollTimesOut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := New(Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	w := api.WorkerInfo{ID: "w", Name: "w", Slots: 1, Ops: []string{"noop"}}
	resp, err := c.Sync(ctx, &api.SyncRequest{Worker: w, Seq: 1, Want: 1, WaitMS: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Leases) != 0 {
		t.Fatalf("got %d leases with no work", len(resp.Leases))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.parked) != 0 {
		t.Errorf("%d polls still parked after returning", len(c.parked))
	}
}
