package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// BenchmarkChunk compares the rows per statement of TaskInsert (1 000
// microtasks per transaction) and TaskFinishDone (256 per transaction).
// Reported per microtask.
func BenchmarkChunk(b *testing.B) {
	ctx := context.Background()
	defer func(i, f int) { insertChunk, finishChunk = i, f }(insertChunk, finishChunk)
	for _, chunk := range []int{16, 64, 256, 1024} {
		insertChunk, finishChunk = chunk, chunk
		b.Run(fmt.Sprintf("insert/rows=%d", chunk), func(b *testing.B) {
			s := chunkStore(b)
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
		})
		b.Run(fmt.Sprintf("finish/rows=%d", chunk), func(b *testing.B) {
			const batch = 256
			s := chunkStore(b)
			inputs := make([][]task.Item, b.N*batch)
			for i := range inputs {
				inputs[i] = []task.Item{{ID: fmt.Sprint(i), Data: json.RawMessage(`{"v":1}`)}}
			}
			var cl []*store.Claimed
			if err := s.InTx(ctx, func(tx store.Tx) error {
				if err := tx.TaskInsert(ctx, &store.TaskInsertParams{JobID: "j", Now: time.Now(), Inputs: inputs}); err != nil {
					return err
				}
				var err error
				cl, err = tx.TaskClaim(ctx, &store.TaskClaimParams{JobID: "j", Worker: "w", Limit: len(inputs), Now: time.Now()})
				return err
			}); err != nil {
				b.Fatal(err)
			}
			out := []task.Item{{ID: "x", Data: json.RawMessage(`{"v":2}`)}}
			b.ResetTimer()
			for i := range b.N {
				ps := make([]*store.TaskFinishParams, batch)
				for k, c := range cl[i*batch : (i+1)*batch] {
					ps[k] = &store.TaskFinishParams{ID: c.ID, Token: c.Token, State: task.Done, Output: out, Now: time.Now()}
				}
				if err := s.InTx(ctx, func(tx store.Tx) error {
					_, err := tx.(store.TxFinisher).TaskFinishDone(ctx, ps)
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/microtask")
		})
	}
}

func chunkStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(context.Background(), b.TempDir(), Options{Sync: "normal"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}
