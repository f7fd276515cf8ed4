package gorgonia

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/myriadhq/myriad/ml"
)

// predictBatch is the rows each inference replica runs at once: large
// enough that matrix products amortise their overhead, small enough that
// a short request does not pay for a big padded batch.
const predictBatch = 64

// predictor runs inference replicas in parallel over chunks of items.
type predictor struct {
	k, itemSize int
	reps        []*replica
	x           []float32
}

// NewPredictor implements ml.Backend.
func (Backend) NewPredictor(spec *ml.Spec, numClasses int, w ml.Weights) (ml.Predictor, error) {
	layout, err := ml.Layout(spec, numClasses)
	if err != nil {
		return nil, err
	}
	if err := w.CheckLike(layout); err != nil {
		return nil, err
	}
	p := &predictor{k: numClasses, itemSize: spec.Input[0] * spec.Input[1] * spec.Input[2]}
	n := runtime.GOMAXPROCS(0)
	p.x = make([]float32, n*predictBatch*p.itemSize)
	for r := range n {
		rep, err := buildReplica(spec, numClasses, predictBatch, w, false)
		if err != nil {
			p.Close()
			return nil, err
		}
		rep.bindViews(p.x[r*predictBatch*p.itemSize:(r+1)*predictBatch*p.itemSize], nil, nil)
		p.reps = append(p.reps, rep)
	}
	return p, nil
}

// Predict implements ml.Predictor. Each item's probabilities depend only
// on the item and the weights, not on which other items share its batch.
func (p *predictor) Predict(ctx context.Context, x []float32) ([]float32, error) {
	if len(p.reps) == 0 {
		return nil, fmt.Errorf("predict: predictor is closed")
	}
	if len(x)%p.itemSize != 0 {
		return nil, fmt.Errorf("%w: %d values is not a whole number of %d-value items", ml.ErrData, len(x), p.itemSize)
	}
	n := len(x) / p.itemSize
	out := make([]float32, n*p.k)
	chunk := len(p.reps) * predictBatch
	for start := 0; start < n; start += chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m := min(chunk, n-start)
		copy(p.x, x[start*p.itemSize:(start+m)*p.itemSize])
		clear(p.x[m*p.itemSize:])
		active := (m + predictBatch - 1) / predictBatch
		errs := make([]error, active)
		var wg sync.WaitGroup
		for r := range active {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[r] = p.reps[r].run()
			}()
		}
		wg.Wait()
		for r := range active {
			if errs[r] != nil {
				return nil, errs[r]
			}
			lp := p.reps[r].logp.Data().([]float32)
			rows := min(predictBatch, m-r*predictBatch)
			dst := out[(start+r*predictBatch)*p.k:]
			for i, v := range lp[:rows*p.k] {
				dst[i] = float32(math.Exp(float64(v)))
			}
		}
	}
	return out, nil
}

// setWeights copies w (in layout order) into every replica.
func (p *predictor) setWeights(w [][]float32) {
	for _, r := range p.reps {
		for i, v := range r.values() {
			copy(v, w[i])
		}
	}
}

// Close implements ml.Predictor.
func (p *predictor) Close() error {
	for _, r := range p.reps {
		r.close()
	}
	p.reps = nil
	return nil
}
