package ml_test

import (
	"math"
	"testing"

	"github.com/myriadhq/myriad/ml"
)

func TestShardSpec(t *testing.T) {
	t.Parallel()
	base := &ml.Spec{Input: []int{1, 8, 8}, Layers: []ml.Layer{{Kind: ml.KindDense, Units: 4}}, LearningRate: 0.001, BatchSize: 64, Epochs: 5}
	s := ml.ShardSpec(base, 4)
	if s.BatchSize != 16 || math.Abs(s.LearningRate-0.002) > 1e-15 || s.Epochs != 1 {
		t.Fatalf("4 shards: batch %d, lr %v, epochs %d; want 16, 0.002, 1", s.BatchSize, s.LearningRate, s.Epochs)
	}
	if s := ml.ShardSpec(base, 3); s.BatchSize != 22 {
		t.Fatalf("3 shards: batch %d, want ⌈64/3⌉ = 22", s.BatchSize)
	}
	if s := ml.ShardSpec(base, 1); s.BatchSize != 64 || s.LearningRate != 0.001 {
		t.Fatalf("1 shard: batch %d lr %v, want the spec's", s.BatchSize, s.LearningRate)
	}
	if base.BatchSize != 64 || base.Epochs != 5 || &base.Layers[0] == &s.Layers[0] {
		t.Fatal("ShardSpec changed or shares its argument")
	}
}
