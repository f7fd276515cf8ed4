package coord_test

import (
	"context"

	"testing"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/store/sqlite"
)

// BenchmarkSync is the coordinator's hot path without HTTP: one worker
// round trip reporting the 64 no-op microtasks it was granted last time
// and claiming 64 more (8 slots with a prefetch of 56, as bench/compare
// runs them), each round trip a transaction of the group-commit
// writer over SQLite. Reported per microtask as well.
func BenchmarkSync(b *testing.B) {
	for _, sync := range []string{"normal", "full"} {
		b.Run("sync="+sync, func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{Sync: sync})
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
			per := 64
			items := make([]any, b.N*per+per)
			for i := range items {
				items[i] = i
			}
			sub, err := c.Compile(&spec.Job{Input: spec.Input{Items: items}, Stages: []spec.Stage{{Op: "noop"}}})
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := c.Submit(ctx, sub); err != nil {
				b.Fatal(err)
			}
			w := api.WorkerInfo{ID: "w", Name: "w", Slots: per, Ops: []string{"noop"}}
			var done []api.Completion
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N { // not b.Loop: the job is sized by b.N
				resp, err := c.Sync(ctx, &api.SyncRequest{Worker: w, Seq: uint64(i + 1), Want: per, Done: done})
				if err != nil {
					b.Fatal(err)
				}
				if len(resp.Accepted) != len(done) {
					b.Fatalf("round trip %d: %d of %d results accepted", i, len(resp.Accepted), len(done))
				}
				done = done[:0]
				for _, l := range resp.Leases {
					done = append(done, api.Completion{Task: l.Task, Token: l.Token, Output: l.Items})
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*per), "ns/microtask")
		})
	}
}
