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
// results one statement each, in one transaction each: the coordinator's
// hot path per worker round trip. Reported per microtask.
func BenchmarkClaimCommit(b *testing.B) { benchClaimCommit(b, "per-row") }

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
