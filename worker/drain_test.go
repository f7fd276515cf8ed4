package worker

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/task"
)

// A draining worker whose coordinator fails keeps backing off between
// attempts to report its results, instead of retrying in a tight loop
// until it gives up.
func TestDrainBacksOffWhenCoordinatorFails(t *testing.T) {
	t.Parallel()
	var calls, afterDrain atomic.Int32
	var draining atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if draining.Load() {
			afterDrain.Add(1)
		}
		if calls.Add(1) > 1 { // the coordinator fails after the first answer
			http.Error(rw, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		resp := api.SyncResponse{LeaseTTLMS: 10_000, HeartbeatMS: 3000, Leases: []api.Lease{{
			Task: 1, Token: 1, Job: "j", Stage: "s", Op: "quick", Items: []task.Item{{ID: "a", Data: json.RawMessage(`1`)}},
		}}}
		json.NewEncoder(rw).Encode(resp)
	}))
	defer srv.Close()
	reported := make(chan struct{})
	reg := NewRegistry()
	reg.Handle("quick", func(ctx context.Context, t *Task) ([]task.Item, error) {
		close(reported)
		return t.Items, nil
	})
	w, err := New(Config{Server: srv.URL, Slots: 1, Registry: reg, DrainTimeout: time.Second, MaxWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	<-reported
	draining.Store(true)
	cancel()
	select {
	case <-done: // gave up on the result after twice the drain timeout
	case <-time.After(30 * time.Second):
		t.Fatal("the draining worker did not give up on a coordinator that keeps failing")
	}
	// Backoff doubles from 100ms: about 5 attempts in 2s, not hundreds.
	if n := afterDrain.Load(); n > 20 {
		t.Fatalf("%d requests in the 2s drain against a failing coordinator: want a backoff between them", n)
	}
}
