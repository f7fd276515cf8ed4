// Package mltest provides small real datasets and specs for the ml
// packages' tests: a few hundred MNIST digits from the GoMNIST module,
// loaded once per test binary.
package mltest

import (
	"sync"
	"testing"

	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/ml/dataset"
)

var (
	once    sync.Once
	digits  *ml.Dataset
	loadErr error
)

// Digits returns n MNIST test-split digits starting at item offset (the
// 10 000-item test split loads in a fraction of a second, the training
// split would not).
func Digits(t testing.TB, offset, n int) *ml.Dataset {
	t.Helper()
	once.Do(func() { digits, loadErr = dataset.LoadMNIST(dataset.Test) })
	if loadErr != nil {
		t.Fatalf("load MNIST: %v", loadErr)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = offset + i
	}
	d, err := digits.Subset(idx)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TinySpec returns a small CNN that learns MNIST digits well above chance
// from a few hundred images in a second or two.
func TinySpec(t testing.TB) *ml.Spec {
	t.Helper()
	s, err := ml.ParseSpec([]byte(`
input: [1, 28, 28]
layers:
  - {kind: conv, filters: 6, kernel: 5, stride: 1, activation: relu}
  - {kind: maxpool, size: 2}
  - {kind: dropout, rate: 0.1}
  - {kind: dense, units: 32, activation: relu}
optimizer: adam
learning_rate: 0.003
epochs: 3
batch_size: 32
seed: 11
`))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
