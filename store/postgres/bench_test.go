package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/store/postgres"
	"github.com/myriadhq/myriad/store/postgres/pgtest"
	"github.com/myriadhq/myriad/task"
)

// BenchmarkClaimCommit is store/sqlite's benchmark of the same name on
// PostgreSQL: lease a batch of 256 microtasks, then commit their results,
// each in one transaction. Reported per microtask.
func BenchmarkClaimCommit(b *testing.B) {
	const batch = 256
	s, err := postgres.Open(context.Background(), pgtest.URL(b), postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx := context.Background()
	n := b.N*batch + batch
	inputs := make([][]task.Item, n)
	for i := range inputs {
		inputs[i] = []task.Item{{ID: fmt.Sprint(i), Data: json.RawMessage(`{"v":1}`)}}
	}
	if err := s.InTx(ctx, func(tx store.Tx) error {
		j := &task.Job{ID: "j", Name: "b", State: task.JobRunning, Weight: 1, CreatedAt: time.Now(),
			Stages: []task.Stage{{Name: "s", Op: "noop", Kind: task.Map, Batch: 1}}}
		if err := tx.JobInsert(ctx, j, nil); err != nil {
			return err
		}
		return tx.TaskInsert(ctx, &store.TaskInsertParams{JobID: "j", Now: time.Now(), Inputs: inputs})
	}); err != nil {
		b.Fatal(err)
	}
	out := []task.Item{{ID: "x", Data: json.RawMessage(`{"v":2}`)}}
	b.ResetTimer()
	for range b.N {
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
}

// BenchmarkClaimCommitBatched is BenchmarkClaimCommit with the results
// committed in one statement (store.TxFinisher), as the coordinator does.
func BenchmarkClaimCommitBatched(b *testing.B) {
	const batch = 256
	s, err := postgres.Open(context.Background(), pgtest.URL(b), postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx := context.Background()
	n := b.N*batch + batch
	inputs := make([][]task.Item, n)
	for i := range inputs {
		inputs[i] = []task.Item{{ID: fmt.Sprint(i), Data: json.RawMessage(`{"v":1}`)}}
	}
	if err := s.InTx(ctx, func(tx store.Tx) error {
		j := &task.Job{ID: "j", Name: "b", State: task.JobRunning, Weight: 1, CreatedAt: time.Now(),
			Stages: []task.Stage{{Name: "s", Op: "noop", Kind: task.Map, Batch: 1}}}
		if err := tx.JobInsert(ctx, j, nil); err != nil {
			return err
		}
		return tx.TaskInsert(ctx, &store.TaskInsertParams{JobID: "j", Now: time.Now(), Inputs: inputs})
	}); err != nil {
		b.Fatal(err)
	}
	out := []task.Item{{ID: "x", Data: json.RawMessage(`{"v":2}`)}}
	b.ResetTimer()
	for range b.N {
		var claimed []*store.Claimed
		if err := s.InTx(ctx, func(tx store.Tx) error {
			var err error
			claimed, err = tx.TaskClaim(ctx, &store.TaskClaimParams{JobID: "j", Worker: "w", Limit: batch, Now: time.Now()})
			return err
		}); err != nil {
			b.Fatal(err)
		}
		if err := s.InTx(ctx, func(tx store.Tx) error {
			ps := make([]*store.TaskFinishParams, len(claimed))
			for i, c := range claimed {
				ps[i] = &store.TaskFinishParams{ID: c.ID, Token: c.Token, State: task.Done, Output: out, Now: time.Now()}
			}
			_, err := tx.(store.TxFinisher).TaskFinishDone(ctx, ps)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/microtask")
}
