package coord_test

import (
	"context"
	"testing"

	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/store/sqlite"
)

// BenchmarkSubmit accepts a job of 100 000 one-item microtasks: compile
// the parsed spec, then store the job and its microtasks in one
// transaction. Reported per microtask as well.
func BenchmarkSubmit(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	c, err := coord.New(coord.Config{Store: st, Ops: map[string]coord.OpInfo{"noop": {Name: "noop"}}})
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer c.Stop()
	items := make([]any, n)
	for i := range items {
		items[i] = i
	}
	job := &spec.Job{Input: spec.Input{Items: items}, Stages: []spec.Stage{{Op: "noop"}}}
	b.ReportAllocs()
	for b.Loop() {
		sub, err := c.Compile(job)
		if err != nil {
			b.Fatal(err)
		}
		if _, tasks, err := c.Submit(ctx, sub); err != nil || tasks != n {
			b.Fatalf("submit: %d microtasks, %v", tasks, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/microtask")
}
