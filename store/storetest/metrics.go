package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// testMetrics: points come back per job in the order they were added,
// across transactions; a rolled-back transaction adds none.
func testMetrics(t *testing.T, s store.Store) {
	ctx := context.Background()
	errRollback := errors.New("roll back")
	insertJob(t, s, job("m1", 1))
	insertJob(t, s, job("m2", 1))
	first := []task.MetricPoint{
		{Stage: "train", Name: "loss", Step: 1, Value: 0.52},
		{Stage: "train", Name: "accuracy", Step: 1, Value: 0.81},
	}
	second := []task.MetricPoint{
		{Stage: "cv", Series: "fold 2", Name: "loss", Step: 1, Value: 0.25},
		{Stage: "train", Name: "loss", Step: 2, Value: 0.125},
	}
	tx(t, s, func(tx store.Tx) error { return tx.MetricAdd(ctx, "m1", first) })
	tx(t, s, func(tx store.Tx) error {
		return tx.MetricAdd(ctx, "m2", []task.MetricPoint{{Stage: "x", Name: "y", Step: 7, Value: -1}})
	})
	tx(t, s, func(tx store.Tx) error { return tx.MetricAdd(ctx, "m1", second) })
	tx(t, s, func(tx store.Tx) error { return tx.MetricAdd(ctx, "m1", nil) })
	if err := s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.MetricAdd(ctx, "m1", []task.MetricPoint{{Stage: "rolled", Name: "back", Step: 1, Value: 1}}); err != nil {
			return err
		}
		return errRollback
	}); !errors.Is(err, errRollback) {
		t.Fatalf("InTx: got %v, want the rollback error", err)
	}
	got, err := s.MetricList(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if want := append(slices.Clone(first), second...); !slices.Equal(got, want) {
		t.Fatalf("metrics of m1:\n got %+v\nwant %+v", got, want)
	}
	got, err = s.MetricList(ctx, "m2")
	if err != nil || len(got) != 1 || got[0].Step != 7 || got[0].Value != -1 {
		t.Fatalf("metrics of m2: got %+v, %v", got, err)
	}
	got, err = s.MetricList(ctx, "nope")
	if err != nil || len(got) != 0 {
		t.Fatalf("metrics of an unknown job: got %+v, %v; want none", got, err)
	}
}
