package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
)

// Metric points ride on completions: the accepted completion's points are
// stored with the stage's name; a refused (stale)
// completion's are not; GET /v1/jobs/{id}/metrics serves them in order.
func TestJobMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{LeaseTTL: 300 * time.Millisecond}, "")
	c := client.New(b.url)
	a, z := handWorker("A"), handWorker("Z")
	rawSync(t, b.url, &api.SyncRequest{Worker: a, Seq: 1})
	id := submitJob(t, c, &spec.Job{Input: spec.Input{Items: []any{"x"}}, Stages: []spec.Stage{{Name: "fit", Op: "noop"}}})
	la := rawSync(t, b.url, &api.SyncRequest{Worker: a, Seq: 2, Want: 1}).Leases[0]
	var lz *api.Lease
	for lz == nil {
		if r := rawSync(t, b.url, &api.SyncRequest{Worker: z, Seq: 1, Want: 1, WaitMS: 2000}); len(r.Leases) > 0 {
			lz = &r.Leases[0]
		}
	}
	out := []task.Item{{ID: "0", Data: json.RawMessage(`1`)}}
	stale := rawSync(t, b.url, &api.SyncRequest{Worker: a, Seq: 3, Done: []api.Completion{{Task: la.Task, Token: la.Token, Output: out,
		Metrics: []api.MetricPoint{{Name: "loss", Step: 1, Value: 99}}}}})
	if len(stale.Refused) != 1 {
		t.Fatalf("stale completion: %+v", stale)
	}
	ok := rawSync(t, b.url, &api.SyncRequest{Worker: z, Seq: 2, Done: []api.Completion{{Task: lz.Task, Token: lz.Token, Output: out,
		Metrics: []api.MetricPoint{
			{Stage: "ignored", Name: "loss", Step: 1, Value: 0.5},
			{Series: "fold 1", Name: "accuracy", Step: 2, Value: 0.75},
			{Name: "", Step: 3, Value: 1}, // no name: dropped
		}}}})
	if len(ok.Accepted) != 1 {
		t.Fatalf("completion: %+v", ok)
	}
	res, err := http.Get(b.url + "/v1/jobs/" + id + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var got api.Metrics
	if err := json.Unmarshal(body, &got); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET metrics: %s %s (%v)", res.Status, body, err)
	}
	want := []api.MetricPoint{{Stage: "fit", Name: "loss", Step: 1, Value: 0.5}, {Stage: "fit", Series: "fold 1", Name: "accuracy", Step: 2, Value: 0.75}}
	if !slices.Equal(got.Points, want) {
		t.Fatalf("GET metrics: %s\nwant %+v", body, want)
	}
	if _, err := c.Metrics(ctxT(t, 5*time.Second), "nosuchjob"); !client.IsNotFound(err) {
		t.Fatalf("metrics of an unknown job: %v, want 404", err)
	}
}
