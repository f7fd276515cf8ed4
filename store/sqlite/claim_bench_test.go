package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/store/sqlite"
	"github.com/myriadhq/myriad/task"
)

func benchStore(b *testing.B, sync string, n int) store.Store {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{Sync: sync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	inputs := make([][]task.Item, n)
	for i := range inputs {
		inputs[i] = []task.Item{{ID: fmt.Sprint(i), Data: json.RawMessage(`{"v":1}`)}}
	}
	err = s.InTx(ctx, func(tx store.Tx) error {
		j := &task.Job{ID: "j", Name: "b", State: task.JobRunning, Weight: 1, CreatedAt: time.Now(),
			Stages: []task.Stage{{Name: "s", Op: "noop", Kind: task.Map, Batch: 1}}}
		if err := tx.JobInsert(ctx, j, nil); err != nil {
			return err
		}
		return tx.TaskInsert(ctx, &store.TaskInsertParams{JobID: "j", Now: time.Now(), Inputs: inputs})
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkClaimCommit leases a batch of 256 microtasks and commits their
// results, each in one transaction: the coordinator's hot path per worker
// round trip. Reported per microtask.
func BenchmarkClaimCommit(b *testing.B) {
	for _, sync := range []string{"normal", "full"} {
		b.Run("sync="+sync, func(b *testing.B) {
			const batch = 256
			s := benchStore(b, sync, b.N*batch+batch)
			ctx := context.Background()
			out := []task.Item{{ID: "x", Data: json.RawMessage(`{"v":2}`)}}
			b.ResetTimer()
			for range b.N { // not b.Loop: the store is sized by b.N
				var claimed []*store.Claimed
				if err := s.InTx(ctx, func(tx store.Tx) error {
					var err error
					claimed, err = tx.TaskClaim(ctx, &store.TaskClaimParams{JobID: "j", Worker: "w", Limit: batch, Now: time.Now()})
					return err
				}); err != nil {
					b.Fatal(err)
				}
				if err := s.InTx(ctx, func(tx store.Tx) error {
					for _, c := range claimed {
						if _, err := tx.TaskFinish(ctx, &store.TaskFinishParams{ID: c.ID, Token: c.Token, State: task.Done, Output: out, Now: time.Now()}); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/microtask")
		})
	}
}

// BenchmarkInsert measures creating microtasks (job submission).
func BenchmarkInsert(b *testing.B) {
	s := benchStore(b, "normal", 0)
	ctx := context.Background()
	inputs := make([][]task.Item, 1000)
	for i := range inputs {
		inputs[i] = []task.Item{{ID: fmt.Sprint(i), Data: json.RawMessage(`{"v":1}`)}}
	}
	b.ResetTimer()
	for b.Loop() {
		if err := s.InTx(ctx, func(tx store.Tx) error {
			return tx.TaskInsert(ctx, &store.TaskInsertParams{JobID: "j", Now: time.Now(), Inputs: inputs})
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(inputs)), "ns/microtask")
}
