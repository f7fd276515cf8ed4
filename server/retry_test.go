package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/store/postgres/pgtest"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// flaky fails item "bad" for good until fixed is set, and passes the
// others through.
func flaky(fixed *atomic.Bool) worker.ItemFunc {
	return func(_ context.Context, _ *worker.Task, it task.Item) (any, error) {
		if it.ID == "bad" && !fixed.Load() {
			return nil, worker.Permanent(errors.New("bad input, for now"))
		}
		var v map[string]int
		json.Unmarshal(it.Data, &v)
		return v, nil
	}
}

func statusOf(err error) int {
	var ce *client.Error
	if errors.As(err, &ce) {
		return ce.Status
	}
	return 0
}

// A job that completed with errors is retried: its dead microtask runs
// again (now succeeding), the stage below takes its output, and the job
// completes with every item's result. Retrying a job whose reduce stage
// has already merged, a completed job or an unknown one is refused.
func TestRetryDeadMicrotasks(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	testRetry(t, b.url, b.url)
}

// The same on two coordinators sharing PostgreSQL: the job runs on one
// (its worker's), the retry is asked of the other.
func TestRetryDeadMicrotasksSharedStore(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	a, b := setupShared(t, url), setupShared(t, url)
	testRetry(t, a.url, b.url)
}

func testRetry(t *testing.T, runURL, retryURL string) {
	var fixed atomic.Bool
	startWorker(t, runURL, 2, func(w *worker.Worker) {
		w.HandleItems("flaky", flaky(&fixed))
		w.HandleItems("plus1", plusOne)
	})
	c := client.New(runURL, client.WithToken(testToken))
	rc := client.New(retryURL, client.WithToken(testToken))
	items := append(numbers(4), map[string]any{"id": "bad", "n": 9})
	zero := 0
	id := submitJob(t, c, &spec.Job{Name: "retry", Input: spec.Input{Items: items}, Stages: []spec.Stage{
		{Name: "f", Op: "flaky", Retries: &zero},
		{Name: "p", Op: "plus1", After: []string{"f"}, Batch: 2},
	}})
	merged := submitJob(t, c, &spec.Job{Name: "merged", Input: spec.Input{Items: items}, Stages: []spec.Stage{
		{Name: "f", Op: "flaky", Retries: &zero},
		{Name: "total", Op: "sum", After: []string{"f"}},
	}})
	for _, j := range []string{id, merged} {
		st, err := c.Wait(ctxT(t, time.Minute), j, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.State != task.JobCompletedWithErrors || st.Counts.Dead != 1 || len(st.Errors) != 1 {
			t.Fatalf("job %s before retry: %s %+v %+v", j, st.State, st.Counts, st.Errors)
		}
	}
	if _, err := rc.Retry(ctxT(t, time.Minute), merged); statusOf(err) != http.StatusConflict {
		t.Fatalf("retry with a merged reduce stage below: %v, want 409", err)
	}
	fixed.Store(true)
	r, err := rc.Retry(ctxT(t, time.Minute), id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Revived != 1 || r.Job.State != task.JobRunning {
		t.Fatalf("retry: revived %d, job %s", r.Revived, r.Job.State)
	}
	st, err := c.Wait(ctxT(t, time.Minute), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != task.JobCompleted || st.Counts.Dead != 0 || st.FinishedAt == nil {
		t.Fatalf("after retry: %s %+v", st.State, st.Counts)
	}
	res := results(t, c, id)
	if len(res) != 5 {
		t.Fatalf("%d results, want 5: %v", len(res), res)
	}
	var v map[string]int
	if l, ok := res["p/bad"]; !ok || json.Unmarshal(l.Data, &v) != nil || v["r"] != 1 || l.Error != "" {
		t.Fatalf("item bad after retry: %+v", res["p/bad"])
	}
	if _, err := rc.Retry(ctxT(t, time.Minute), id); statusOf(err) != http.StatusConflict {
		t.Fatalf("retry of a completed job: %v, want 409", err)
	}
	if _, err := rc.Retry(ctxT(t, time.Minute), "nope"); statusOf(err) != http.StatusNotFound {
		t.Fatalf("retry of an unknown job: %v, want 404", err)
	}
	// The merged job is unchanged by the refused retry.
	st, err = c.Job(ctxT(t, time.Minute), merged)
	if err != nil || st.State != task.JobCompletedWithErrors || st.Counts.Dead != 1 {
		t.Fatalf("merged job after a refused retry: %v %+v", err, st)
	}
}
