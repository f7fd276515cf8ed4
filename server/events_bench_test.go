package server

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/store/sqlite"
)

// benchCoordinator runs a coordinator with jobs active jobs of two stages
// and workers registered workers, for the dashboard's scale target
// (1 000 jobs, 100 workers).
func benchCoordinator(b *testing.B, jobs, workers int) *coord.Coordinator {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{Sync: "normal"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	c, err := coord.New(coord.Config{Store: st, Ops: map[string]coord.OpInfo{"bench": {Name: "bench"}, "merge": {Name: "merge", Reduce: true}}})
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Stop)
	for i := range workers {
		w := api.WorkerInfo{ID: fmt.Sprintf("w%03d", i), Name: fmt.Sprintf("worker-%d", i), Slots: 8, Ops: []string{"bench"},
			Labels: map[string]string{"zone": "a"}}
		if _, err := c.Sync(ctx, &api.SyncRequest{Worker: w, Seq: 1}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range jobs {
		items := make([]any, 10)
		for k := range items {
			items[k] = map[string]any{"id": fmt.Sprintf("i%d", k)}
		}
		sub, err := c.Compile(&spec.Job{Name: fmt.Sprintf("job-%d", i), Input: spec.Input{Items: items},
			Stages: []spec.Stage{{Name: "map", Op: "bench"}, {Name: "merge", Op: "merge", After: []string{"map"}}}})
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Submit(ctx, sub); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

// The cost of one tick of the dashboard's event stream when every one of
// 1 000 active jobs changed (the worst case: a full snapshot), with 100
// workers; bytes/op is what one viewer of the jobs list receives then.
//
//	go test -run '^$' -bench EventTick -benchtime 20x ./server/
func BenchmarkEventTick(b *testing.B) {
	c := benchCoordinator(b, 1000, 100)
	a := &api0{c: c}
	req := httptest.NewRequest("GET", "/v1/events", nil)
	for _, tc := range []struct {
		name          string
		jobs, workers bool
	}{{"jobs", true, false}, {"workers", false, true}} {
		b.Run(tc.name, func(b *testing.B) {
			var bytes int
			for b.Loop() {
				rec := httptest.NewRecorder()
				s := &eventState{a: a, r: req, jobs: tc.jobs, workers: tc.workers, sent: map[string]string{}}
				if _, err := s.emit(rec, true); err != nil {
					b.Fatal(err)
				}
				bytes = rec.Body.Len()
			}
			b.ReportMetric(float64(bytes), "bytes/tick")
		})
	}
	b.Run("unchanged", func(b *testing.B) {
		s := &eventState{a: a, r: req, jobs: true, workers: true, sent: map[string]string{}}
		s.emit(httptest.NewRecorder(), true)
		for b.Loop() {
			if _, err := s.emit(httptest.NewRecorder(), false); err != nil {
				b.Fatal(err)
			}
		}
	})
}
