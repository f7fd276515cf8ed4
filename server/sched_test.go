package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
)

// A 10-item job submitted behind a 100 000-item job finishes long before
// it: both get a fair share of the slots at once.
func TestSmallJobNotStarvedBehindHugeOne(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	startWorker(t, b.url, 8, nil)
	c := client.New(b.url, client.WithToken(testToken))
	big := make([]any, 100_000)
	for i := range big {
		big[i] = i
	}
	bigID := submitJob(t, c, &spec.Job{Name: "huge", Input: spec.Input{Items: big}, Stages: []spec.Stage{
		{Op: "sleep", Batch: 20, Params: map[string]any{"ms": 2}},
	}})
	smallID := submitJob(t, c, &spec.Job{Name: "small", Input: spec.Input{Items: numbers(10)}, Stages: []spec.Stage{
		{Op: "sleep", Params: map[string]any{"ms": 2}},
	}})
	small, err := c.Wait(ctxT(t, time.Minute), smallID, nil)
	if err != nil || small.State != task.JobCompleted {
		t.Fatalf("%v %+v", err, small)
	}
	bigNow, err := c.Job(context.Background(), bigID)
	if err != nil {
		t.Fatal(err)
	}
	frac := float64(bigNow.Counts.Done) / float64(bigNow.Counts.Total())
	if bigNow.State.Final() || frac > 0.5 {
		t.Fatalf("when the small job ended, the huge one was %.0f%% done (%s): the small one waited behind it", 100*frac, bigNow.State)
	}
	t.Logf("small job done in %.2fs; huge job then %.1f%% done", small.Elapsed, 100*frac)
	if _, err := c.Cancel(context.Background(), bigID); err != nil {
		t.Fatal(err)
	}
}

// The ETA made when a quarter of a synthetic sleep job is done is within
// 20 % of the time the rest really takes. It does not run in parallel
// with other tests: their load would change the pace mid-job.
func TestETAAccuracy(t *testing.T) {
	b := setup(t, coord.Config{}, "")
	startWorker(t, b.url, 4, nil)
	startWorker(t, b.url, 4, nil)
	c := client.New(b.url, client.WithToken(testToken))
	// Tasks long beside the engine's per-task cost, so that a loaded CI
	// machine's scheduling noise stays small beside what is estimated.
	id := submitJob(t, c, &spec.Job{Name: "eta", Input: spec.Input{Items: numbers(80)}, Stages: []spec.Stage{
		{Op: "sleep", Params: map[string]any{"ms": 300}},
	}})
	// Sample the status often until a quarter is done.
	var eta, doneAt float64
	var at time.Time
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for eta == 0 {
		st, err := c.Job(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if frac := float64(st.Counts.Done) / float64(st.Counts.Total()); frac >= 0.25 {
			if st.ETA == nil || !st.ETA.Known {
				t.Fatalf("no ETA at %.0f%% done: %+v", 100*frac, st.ETA)
			}
			eta, at, doneAt = st.ETA.RemainingS, time.Now(), frac
		}
		<-tick.C
	}
	st, err := c.Wait(ctxT(t, time.Minute), id, nil)
	if err != nil || st.State != task.JobCompleted {
		t.Fatalf("%v %+v", err, st)
	}
	if eta == 0 {
		t.Fatal("no ETA was given past 25 %")
	}
	actual := time.Since(at).Seconds()
	t.Logf("at %.0f%% done: ETA %.2fs, actual %.2fs", 100*doneAt, eta, actual)
	if diff := eta/actual - 1; diff > 0.25 || diff < -0.25 {
		t.Fatalf("ETA %.2fs vs actual %.2fs: off by %.0f%%", eta, actual, 100*diff)
	}
}
