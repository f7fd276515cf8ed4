package mlops_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/ml/gorgonia"
	"github.com/myriadhq/myriad/ml/tune"
	"github.com/myriadhq/myriad/ops/mlops"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// TestDataParallelRounds: train with shards: 3, rounds: 2 unrolls into
// shard, round and merge stages; one shard's first attempt fails (as if
// its worker died mid-round) and only that microtask is retried; the
// final weights are bit-identical to ml.TrainRounds in-process.
func TestDataParallelRounds(t *testing.T) {
	t.Parallel()
	var failed, calls atomic.Int32
	e := setup(t, 2, func(r *worker.Registry) {
		h, _ := r.Lookup(mlops.OpRound)
		r.Handle(mlops.OpRound, func(ctx context.Context, tk *worker.Task) ([]task.Item, error) {
			calls.Add(1)
			var it struct{ Shard, Round int }
			json.Unmarshal(tk.Items[0].Data, &it)
			if it.Shard == 1 && it.Round == 1 && failed.CompareAndSwap(0, 1) {
				return nil, errors.New("worker lost mid-round")
			}
			return h(ctx, tk)
		})
	})
	data := mnistDigits(t, 2000, 240)
	ref := e.pack(t, data)
	st := e.run(t, fmt.Sprintf(`
input: {items: [{id: digits, dataset: %q}]}
stages:
  - {name: dp, op: train, backoff: 10ms, params: {model: %s, shards: 3, rounds: 2, seed: 5, parallelism: 1}}
`, ref, tinyNet))
	mustCompleted(t, st)

	var names []string
	for _, s := range st.Stages {
		names = append(names, s.Name)
	}
	if want := []string{"dp.shards", "dp.round1", "dp.merge1", "dp.round2", "dp"}; !slices.Equal(names, want) {
		t.Fatalf("stages %v, want %v", names, want)
	}
	for _, s := range st.Stages {
		if (s.Name == "dp.round1" || s.Name == "dp.round2") && s.Counts.Done != 3 {
			t.Fatalf("stage %s: %d microtasks done, want one per shard (3)", s.Name, s.Counts.Done)
		}
	}
	if failed.Load() != 1 {
		t.Fatal("the injected failure did not happen")
	}
	if n := calls.Load(); n != 7 {
		t.Fatalf("%d round attempts, want 7: one per shard per round and one retry", n)
	}

	// The same in-process: the reference the engine must match bit for bit.
	spec, err := ml.ParseSpec([]byte(tinyNet))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := tune.Shards(data.Y, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	shards := make([]*ml.Dataset, 3)
	for i := range shards {
		if shards[i], err = data.Subset(idx[i]); err != nil {
			t.Fatal(err)
		}
	}
	local := ml.ShardSpec(spec, 3)
	want, err := ml.TrainRounds(context.Background(), gorgonia.Backend{}, local, shards, 2, nil, ml.TrainOptions{Parallelism: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := e.modelOf(t, field[blobRef](t, e.results(t, st.ID, "dp")["digits"], "model"))
	if len(got.Weights) != len(want.Weights) {
		t.Fatalf("%d weight tensors, want %d", len(got.Weights), len(want.Weights))
	}
	for i := range got.Weights {
		if !slices.Equal(got.Weights[i].Tensor.F32, want.Weights[i].Tensor.F32) {
			t.Fatalf("weights %s differ from ml.TrainRounds'", got.Weights[i].Name)
		}
	}

	// One curve point per round from the merges, one per shard per round.
	rounds, shardPoints := 0, 0
	for _, p := range e.metrics(t, st.ID) {
		switch {
		case p.Name == "loss" && p.Series == "":
			rounds++
		case p.Name == "loss":
			shardPoints++
		}
	}
	if rounds != 2 || shardPoints != 6 {
		t.Fatalf("%d round points and %d shard points, want 2 and 6", rounds, shardPoints)
	}
}
