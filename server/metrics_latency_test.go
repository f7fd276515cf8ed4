package server_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/spec"
)

func metricsText(t *testing.T, url string) string {
	t.Helper()
	res, err := authGet(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// A completion carrying its start time lands in the ready-to-start
// histogram at the right bucket; one without it is not counted.
func TestReadyToStartMetric(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	c := client.New(b.url, client.WithToken(testToken))
	w := handWorker("L")
	w.Slots = 2
	rawSync(t, b.url, &api.SyncRequest{Worker: w, Seq: 1})
	submitJob(t, c, &spec.Job{Input: spec.Input{Items: []any{"a", "b"}}, Stages: []spec.Stage{{Op: "noop"}}})
	got := rawSync(t, b.url, &api.SyncRequest{Worker: w, Seq: 2, Want: 2})
	if len(got.Leases) != 2 {
		t.Fatalf("got %d leases, want 2", len(got.Leases))
	}
	// Started 40 s after now: past every submission delay, inside the
	// 60 s bucket and above the 30 s one.
	started := time.Now().Add(40 * time.Second).UnixMicro()
	l0, l1 := got.Leases[0], got.Leases[1]
	rawSync(t, b.url, &api.SyncRequest{Worker: w, Seq: 3, Done: []api.Completion{
		{Task: l0.Task, Token: l0.Token, StartedUS: started},
		{Task: l1.Task, Token: l1.Token}, // no start time: not counted
	}})
	text := metricsText(t, b.url)
	for _, want := range []string{
		`myriad_ready_to_start_seconds_bucket{le="30"} 0`,
		`myriad_ready_to_start_seconds_bucket{le="60"} 1`,
		`myriad_ready_to_start_seconds_bucket{le="+Inf"} 1`,
		"myriad_ready_to_start_seconds_count 1",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, text)
		}
	}
}
