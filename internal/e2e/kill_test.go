package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
)

// sleepJob is n items, each {"id": "iK", "v": K*7}, through the built-in
// sleep operator (which returns its items unchanged): the expected result
// of every item is its input.
func sleepJob(n, ms int) *spec.Job {
	items := make([]any, n)
	for i := range items {
		items[i] = map[string]any{"id": fmt.Sprintf("i%d", i), "v": i * 7}
	}
	return &spec.Job{Name: "sleepy", Input: spec.Input{Items: items}, Stages: []spec.Stage{
		{Op: "sleep", Params: map[string]any{"ms": ms}},
	}}
}

// waitProgress polls the job until at least frac of its microtasks are
// done.
func waitProgress(t *testing.T, c *client.Client, id string, frac float64) *api.JobStatus {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		st, err := c.Job(context.Background(), id)
		if err == nil {
			if float64(st.Counts.Done) >= frac*float64(st.Counts.Total()) {
				return st
			}
			if st.State.Final() {
				t.Fatalf("job ended at %d/%d before reaching %.0f%%", st.Counts.Done, st.Counts.Total(), 100*frac)
			}
		}
		<-tick.C
	}
	t.Fatal("job made no progress")
	return nil
}

// checkExactlyOnce checks that every item has one result, equal to its
// input.
func checkExactlyOnce(t *testing.T, c *client.Client, id string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := c.Wait(ctx, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != task.JobCompleted {
		t.Fatalf("job ended %s: %+v %+v", st.State, st.Counts, st.Errors)
	}
	seen := map[string]int{}
	err = c.Results(ctx, id, nil, func(l *api.ResultLine) error {
		seen[l.ID]++
		var v struct {
			ID string `json:"id"`
			V  int    `json:"v"`
		}
		if err := json.Unmarshal(l.Data, &v); err != nil {
			return err
		}
		var k int
		fmt.Sscanf(l.ID, "i%d", &k)
		if v.ID != l.ID || v.V != k*7 {
			return fmt.Errorf("item %s: wrong result %s", l.ID, l.Data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if got := seen[fmt.Sprintf("i%d", i)]; got != 1 {
			t.Fatalf("item i%d has %d results", i, got)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct items in the results, want %d", len(seen), n)
	}
	if st.Counts.Done != int64(n) {
		t.Fatalf("%d microtasks done, want %d", st.Counts.Done, n)
	}
}

// A worker process killed with SIGKILL mid-job: its leases expire, its
// microtasks run on the others, and every item has exactly one result.
func TestWorkerKilledMidJob(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	url := "http://" + addr
	startServer(t, addr, t.TempDir(), "--lease-ttl", "1s")
	var workers []*proc
	for i := 0; i < 3; i++ {
		workers = append(workers, start(t, fmt.Sprintf("worker%d", i), "worker", "--server", url, "--slots", "4", "--name", fmt.Sprintf("w%d", i)))
	}
	c := client.New(url)
	const n = 600
	sub, err := c.Submit(context.Background(), sleepJob(n, 15))
	if err != nil {
		t.Fatal(err)
	}
	waitProgress(t, c, sub.ID, 0.3)
	workers[1].kill()
	checkExactlyOnce(t, c, sub.ID, n)
	ws, err := c.Workers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	for _, w := range ws {
		if w.State == task.WorkerLost {
			lost++
		}
	}
	if lost != 1 {
		t.Fatalf("%d workers shown lost, want 1: %+v", lost, ws)
	}
}

// The coordinator process killed with SIGKILL mid-job and started again on
// the same data: the job carries on, nothing lost or doubled.
func TestCoordinatorKilledMidJob(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	url := "http://" + addr
	data := t.TempDir()
	srv := startServer(t, addr, data, "--lease-ttl", "2s")
	for i := 0; i < 2; i++ {
		start(t, fmt.Sprintf("worker%d", i), "worker", "--server", url, "--slots", "4")
	}
	c := client.New(url)
	const n = 600
	sub, err := c.Submit(context.Background(), sleepJob(n, 10))
	if err != nil {
		t.Fatal(err)
	}
	waitProgress(t, c, sub.ID, 0.3)
	srv.kill()
	before, _ := c.Job(context.Background(), sub.ID) // the coordinator is down
	if before != nil {
		t.Fatal("the coordinator still answers after SIGKILL")
	}
	startServer(t, addr, data, "--lease-ttl", "2s")
	checkExactlyOnce(t, c, sub.ID, n)
}
