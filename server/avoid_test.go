package server_test

import (
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
)

// A microtask that failed on a worker is retried on another one while
// another can run it; once every live worker has failed it, it may go
// back to one of them rather than wait forever.
func TestRetryGoesToAnotherWorker(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	c := client.New(b.url, client.WithToken(testToken))
	wa, wb := handWorker("A"), handWorker("B")
	rawSync(t, b.url, &api.SyncRequest{Worker: wa, Seq: 1})
	rawSync(t, b.url, &api.SyncRequest{Worker: wb, Seq: 1})
	retries := 3
	id := submitJob(t, c, &spec.Job{Input: spec.Input{Items: []any{"x"}}, Stages: []spec.Stage{{Op: "noop", Retries: &retries, Backoff: "10ms"}}})
	la := rawSync(t, b.url, &api.SyncRequest{Worker: wa, Seq: 2, Want: 1}).Leases
	if len(la) != 1 {
		t.Fatalf("A got %d leases", len(la))
	}
	fail := func(w api.WorkerInfo, seq uint64, l api.Lease) {
		t.Helper()
		r := rawSync(t, b.url, &api.SyncRequest{Worker: w, Seq: seq, Failed: []api.Failure{{Task: l.Task, Token: l.Token, Kind: api.FailCrash, Error: "handler panicked"}}})
		if len(r.Accepted) != 1 {
			t.Fatalf("failure report: %+v", r)
		}
	}
	fail(wa, 3, la[0])
	// Wait until the retry is ready.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := c.Job(ctxT(t, 5*time.Second), id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Counts.Ready == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retry never ready: %+v", st.Counts)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, with a deadline
	}
	// A asks for work and gets none: B, alive, should run the retry.
	for seq := uint64(4); seq < 6; seq++ {
		if r := rawSync(t, b.url, &api.SyncRequest{Worker: wa, Seq: seq, Want: 1, WaitMS: 200}); len(r.Leases) != 0 {
			t.Fatalf("A was given its failed microtask again: %+v", r.Leases)
		}
		rawSync(t, b.url, &api.SyncRequest{Worker: wb, Seq: seq}) // B heartbeats, wanting nothing yet
	}
	lb := rawSync(t, b.url, &api.SyncRequest{Worker: wb, Seq: 6, Want: 1}).Leases
	if len(lb) != 1 || lb[0].Task != la[0].Task || lb[0].Attempt != 2 {
		t.Fatalf("B's lease %+v, want the retry (attempt 2)", lb)
	}
	fail(wb, 7, lb[0])
	// Both live workers failed it: it goes to one of them again.
	var seq uint64 = 7
	var again []api.Lease
	for len(again) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the microtask was never retried once both workers had failed it")
		}
		seq++
		again = rawSync(t, b.url, &api.SyncRequest{Worker: wa, Seq: seq, Want: 1, WaitMS: 500}).Leases
		rawSync(t, b.url, &api.SyncRequest{Worker: wb, Seq: seq})
	}
	if again[0].Task != la[0].Task || again[0].Attempt != 3 {
		t.Fatalf("third lease %+v", again)
	}
	r := rawSync(t, b.url, &api.SyncRequest{Worker: wa, Seq: seq + 1, Done: []api.Completion{{Task: again[0].Task, Token: again[0].Token, Output: out("0", "ok")}}})
	if len(r.Accepted) != 1 {
		t.Fatalf("completion: %+v", r)
	}
	st, err := c.Wait(ctxT(t, 30*time.Second), id, nil)
	if err != nil || st.State != task.JobCompleted {
		t.Fatalf("job: %v %+v", err, st)
	}
}
