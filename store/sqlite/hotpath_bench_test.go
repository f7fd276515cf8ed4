package sqlite_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// BenchmarkClaim measures leasing microtasks alone, 256 per transaction
// (one worker round trip). Reported per microtask.
func BenchmarkClaim(b *testing.B) {
	const batch = 256
	s := benchStore(b, "normal", b.N*batch)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N { // not b.Loop: the store is sized by b.N
		if err := s.InTx(ctx, func(tx store.Tx) error {
			got, err := tx.TaskClaim(ctx, &store.TaskClaimParams{JobID: "j", Worker: "w", Limit: batch, Now: time.Now()})
			if err == nil && len(got) != batch {
				b.Fatalf("claimed %d, want %d", len(got), batch)
			}
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/microtask")
}

// BenchmarkFinish measures committing the results of 256 running
// microtasks in one transaction: one TaskFinish each (per-row) or one
// TaskFinishDone for all (batched, store.TxFinisher, as the coordinator
// does). Reported per microtask.
func BenchmarkFinish(b *testing.B) {
	for _, mode := range []string{"per-row", "batched"} {
		b.Run(mode, func(b *testing.B) {
			const batch = 256
			s := benchStore(b, "normal", b.N*batch)
			ctx := context.Background()
			var claimed []*store.Claimed
			if err := s.InTx(ctx, func(tx store.Tx) error {
				var err error
				claimed, err = tx.TaskClaim(ctx, &store.TaskClaimParams{JobID: "j", Worker: "w", Limit: b.N * batch, Now: time.Now()})
				return err
			}); err != nil {
				b.Fatal(err)
			}
			out := []task.Item{{ID: "x", Data: json.RawMessage(`{"v":2}`)}}
			b.ResetTimer()
			for i := range b.N {
				part := claimed[i*batch : (i+1)*batch]
				if err := s.InTx(ctx, func(tx store.Tx) error {
					return finishAll(ctx, tx, mode, part, out)
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/microtask")
		})
	}
}

// finishAll commits a result for each claimed microtask, one statement
// each (mode "per-row") or all at once (store.TxFinisher).
func finishAll(ctx context.Context, tx store.Tx, mode string, claimed []*store.Claimed, out []task.Item) error {
	now := time.Now()
	if mode == "per-row" {
		for _, c := range claimed {
			if _, err := tx.TaskFinish(ctx, &store.TaskFinishParams{ID: c.ID, Token: c.Token, State: task.Done, Output: out, Now: now}); err != nil {
				return err
			}
		}
		return nil
	}
	ps := make([]*store.TaskFinishParams, len(claimed))
	for i, c := range claimed {
		ps[i] = &store.TaskFinishParams{ID: c.ID, Token: c.Token, State: task.Done, Output: out, Now: now}
	}
	_, err := tx.(store.TxFinisher).TaskFinishDone(ctx, ps)
	return err
}

// BenchmarkClaimCommitBatched is BenchmarkClaimCommit with the results
// committed in one statement (store.TxFinisher), as the coordinator does.
func BenchmarkClaimCommitBatched(b *testing.B) { benchClaimCommit(b, "batched") }

// benchClaimCommit leases 256 microtasks in one transaction, then commits
// their results in another, as finishAll's mode says.
func benchClaimCommit(b *testing.B, mode string) {
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
					return finishAll(ctx, tx, mode, claimed, out)
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/microtask")
		})
	}
}
