package server_test

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/myriadhq/myriad/worker"
)

// jobPoints reads GET /v1/jobs/{id}/metrics.
func jobPoints(t *testing.T, url, id string) []api.MetricPoint {
	t.Helper()
	res, err := authGet(url + "/v1/jobs/" + id + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var m api.Metrics
	if err := json.Unmarshal(body, &m); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET metrics: %s %s (%v)", res.Status, body, err)
	}
	return m.Points
}

// untilPoints polls the job's metrics until they equal want, or fails
// after within.
func untilPoints(t *testing.T, url, id string, within time.Duration, want []api.MetricPoint) {
	t.Helper()
	deadline := time.Now().Add(within)
	var got []api.MetricPoint
	for time.Now().Before(deadline) {
		if got = jobPoints(t, url, id); slices.Equal(got, want) {
			return
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
	}
	t.Fatalf("metrics %+v, want %+v", got, want)
}

// A running microtask's curve shows while it runs; the completion's
// points are what stays, once, and a failed attempt's points go with it.
func TestLiveMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{MaxWait: time.Minute, LeaseTTL: time.Minute}, "")
	c := client.New(b.url, client.WithToken(testToken))
	release := make(chan struct{})
	reg := worker.NewRegistry()
	reg.Handle("fit", func(ctx context.Context, tk *worker.Task) ([]task.Item, error) {
		tk.Metric("loss", 1, float64(tk.Attempt))
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if tk.Attempt == 1 {
			return nil, errors.New("diverged")
		}
		tk.Metric("loss", 2, 0.25)
		return tk.Items, nil
	})
	// Its long polls last 20 s (a third of the lease): a point must end
	// the one waiting, not ride the next heartbeat.
	w, err := worker.New(worker.Config{Server: b.url, Token: testToken, Slots: 1, Registry: reg, MaxWait: time.Minute, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	connected(t, w)
	retries := 1
	id := submitJob(t, c, &spec.Job{Input: spec.Input{Items: []any{"x"}},
		Stages: []spec.Stage{{Name: "train", Op: "fit", Retries: &retries, Backoff: "1ms"}}})
	// Attempt 1's point shows while it runs.
	untilPoints(t, b.url, id, 5*time.Second, []api.MetricPoint{{Stage: "train", Name: "loss", Step: 1, Value: 1}})
	release <- struct{}{}
	// It failed: its point is gone; attempt 2's shows instead.
	untilPoints(t, b.url, id, 5*time.Second, []api.MetricPoint{{Stage: "train", Name: "loss", Step: 1, Value: 2}})
	close(release)
	st, err := c.Wait(ctxT(t, 20*time.Second), id, nil)
	if err != nil || st.State != task.JobCompleted {
		t.Fatalf("job: %v %+v", err, st)
	}
	want := []api.MetricPoint{{Stage: "train", Name: "loss", Step: 1, Value: 2}, {Stage: "train", Name: "loss", Step: 2, Value: 0.25}}
	if got := jobPoints(t, b.url, id); !slices.Equal(got, want) {
		t.Fatalf("stored metrics %+v, want attempt 2's only, once: %+v", got, want)
	}
}
