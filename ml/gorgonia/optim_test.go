package gorgonia

import (
	"math"
	"testing"

	"github.com/myriadhq/myriad/ml"
)

// The expected weights were computed with PyTorch 1.13 (Debian's
// python3-torch): torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.01)
// and torch.optim.Adam(lr=0.01, weight_decay=0.01), from [0.5, -1, 2]
// with the three gradients below.
func TestOptimizersMatchPyTorch(t *testing.T) {
	t.Parallel()
	grads := [][]float32{{0.1, -0.2, 0.3}, {0.05, 0.4, -0.1}, {-0.3, 0, 0.2}}
	cases := []struct {
		spec ml.Spec
		want []float32
	}{
		{ml.Spec{Optimizer: ml.OptSGD, LearningRate: 0.1, Momentum: 0.9, WeightDecay: 0.01},
			[]float32{0.49064040184020996, -1.0162307024002075, 1.9065935611724854}},
		{ml.Spec{Optimizer: ml.OptAdam, LearningRate: 0.01, WeightDecay: 0.01},
			[]float32{0.4838418960571289, -0.9958455562591553, 1.9787455797195435}},
	}
	for _, c := range cases {
		opt, err := newOptimizer(&c.spec, []int{3})
		if err != nil {
			t.Fatal(err)
		}
		w := [][]float32{{0.5, -1, 2}}
		for _, g := range grads {
			opt.step(w, [][]float32{append([]float32(nil), g...)})
		}
		for i, v := range w[0] {
			if math.Abs(float64(v-c.want[i])) > 2e-6 {
				t.Errorf("%s: weight %d = %.9f, PyTorch %.9f", c.spec.Optimizer, i, v, c.want[i])
			}
		}
	}
}
