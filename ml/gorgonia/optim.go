package gorgonia

import (
	"fmt"
	"math"

	"github.com/myriadhq/myriad/ml"
)

// optimizer updates weights in place from gradients, following PyTorch's
// torch.optim.SGD and torch.optim.Adam (weight decay added to the
// gradient, no dampening, no Nesterov, no AMSGrad).
type optimizer interface {
	step(w, g [][]float32)
}

func newOptimizer(spec *ml.Spec, sizes []int) (optimizer, error) {
	state := func() [][]float32 {
		s := make([][]float32, len(sizes))
		for i, n := range sizes {
			s[i] = make([]float32, n)
		}
		return s
	}
	switch spec.Optimizer {
	case ml.OptSGD:
		return &sgd{lr: float32(spec.LearningRate), mom: float32(spec.Momentum), wd: float32(spec.WeightDecay), buf: state()}, nil
	case ml.OptAdam:
		return &adam{lr: spec.LearningRate, wd: float32(spec.WeightDecay), b1: 0.9, b2: 0.999, eps: 1e-8, m: state(), v: state()}, nil
	}
	return nil, fmt.Errorf("%w: optimizer %q", ml.ErrInvalidSpec, spec.Optimizer)
}

type sgd struct {
	lr, mom, wd float32
	buf         [][]float32
}

func (o *sgd) step(w, g [][]float32) {
	for i := range w {
		wi, gi, bi := w[i], g[i], o.buf[i]
		for j := range wi {
			d := gi[j] + o.wd*wi[j]
			if o.mom != 0 {
				bi[j] = o.mom*bi[j] + d
				d = bi[j]
			}
			wi[j] -= o.lr * d
		}
	}
}

type adam struct {
	lr          float64
	wd          float32
	b1, b2, eps float64
	t           int
	m, v        [][]float32
}

func (o *adam) step(w, g [][]float32) {
	o.t++
	c1 := 1 - math.Pow(o.b1, float64(o.t))
	c2 := 1 - math.Pow(o.b2, float64(o.t))
	stepSize := float32(o.lr / c1)
	sqrtC2 := float32(math.Sqrt(c2))
	b1, b2, eps := float32(o.b1), float32(o.b2), float32(o.eps)
	for i := range w {
		wi, gi, mi, vi := w[i], g[i], o.m[i], o.v[i]
		for j := range wi {
			d := gi[j] + o.wd*wi[j]
			mi[j] = b1*mi[j] + (1-b1)*d
			vi[j] = b2*vi[j] + (1-b2)*d*d
			denom := float32(math.Sqrt(float64(vi[j])))/sqrtC2 + eps
			wi[j] -= stepSize * mi[j] / denom
		}
	}
}
