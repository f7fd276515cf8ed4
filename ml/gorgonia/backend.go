package gorgonia

import (
	"math"
	"math/rand/v2"
	"strings"

	"github.com/myriadhq/myriad/ml"
)

// Backend trains and runs networks with gorgonia. The zero value is ready
// to use and holds no state, so one value serves any number of
// concurrent microtasks.
type Backend struct{}

var _ ml.Backend = Backend{}

// Name implements ml.Backend.
func (Backend) Name() string { return "gorgonia" }

// Random streams derived from a spec's seed; distinct constants keep
// initialisation independent of shuffling and dropout.
const (
	initStream  = 0x1417
	trainStream = 0x7a11
)

// Init implements ml.Backend: PyTorch's default initialisation for conv
// and linear layers, weights and biases uniform in ±1/sqrt(fan-in).
func (Backend) Init(spec *ml.Spec, numClasses int) (ml.Weights, error) {
	w, err := ml.Layout(spec, numClasses)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(spec.Seed, initStream))
	fan := 0
	for _, p := range w {
		if strings.HasSuffix(p.Name, ".weight") {
			fan = ml.FanIn(p.Tensor)
		}
		bound := 1 / math.Sqrt(float64(fan))
		for j := range p.Tensor.F32 {
			p.Tensor.F32[j] = float32((2*rng.Float64() - 1) * bound)
		}
	}
	return w, nil
}
