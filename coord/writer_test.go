package coord

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/store/sqlite"
	"github.com/myriadhq/myriad/task"
)

// Stop writes what it already took: the batch being written when the
// coordinator is told to stop commits, and so do the requests queued
// behind it; none of them is answered ErrStopped or rolled back.
func TestStopFlushesQueuedOps(t *testing.T) {
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
	// The first request holds the writer inside its transaction until the
	// gate opens; the others queue behind it; then the coordinator stops.
	gate, started := make(chan struct{}), make(chan struct{})
	var ran atomic.Int32
	upsert := func(ctx context.Context, tx store.Tx, id string) error {
		ran.Add(1)
		return tx.WorkerUpsert(ctx, &task.Worker{ID: id, Name: id, Slots: 1, State: task.WorkerAlive, LastSeen: time.Now()})
	}
	const n = 20
	errs := make(chan error, n+1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs <- c.do(ctx, func(ctx context.Context, tx store.Tx) error {
			close(started)
			<-gate
			return upsert(ctx, tx, "first")
		})
	}()
	<-started
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- c.do(ctx, func(ctx context.Context, tx store.Tx) error { return upsert(ctx, tx, fmt.Sprintf("w%d", i)) })
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(c.ops) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d requests queued", len(c.ops))
		}
		time.Sleep(time.Millisecond) // polling interval
	}
	c.cancel() // what Stop does first
	stopped := make(chan struct{})
	go func() { c.Stop(); close(stopped) }()
	close(gate)
	<-stopped
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a request taken before the stop failed: %v", err)
		}
	}
	if got := ran.Load(); got != n+1 {
		t.Fatalf("%d of %d requests ran", got, n+1)
	}
	ws, err := st.WorkerList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != n+1 {
		t.Fatalf("the store holds %d of the %d workers the requests wrote", len(ws), n+1)
	}
}
