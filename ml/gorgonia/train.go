package gorgonia

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/tensor"
)

// trainer holds one training run's replicas and batch buffers.
type trainer struct {
	spec      *ml.Spec
	k         int // classes
	itemSize  int
	reps      []*replica
	per       int // rows per replica
	x, y      []float32
	masks     [][]float32 // per dropout layer, per row values
	maskElems []int
	rates     []float32
	names     []string
	opt       optimizer
}

// Train implements ml.Backend.
func (Backend) Train(ctx context.Context, spec *ml.Spec, data *ml.Dataset, init ml.Weights, opts ml.TrainOptions) (ml.Weights, error) {
	k := len(data.Classes)
	layout, err := ml.Layout(spec, k)
	if err != nil {
		return nil, err
	}
	if err := init.CheckLike(layout); err != nil {
		return nil, err
	}
	t, err := newTrainer(spec, k, init, opts.Parallelism)
	if err != nil {
		return nil, err
	}
	defer t.close()

	var val ml.Predictor
	if opts.Validation != nil {
		p, err := Backend{}.NewPredictor(spec, k, init)
		if err != nil {
			return nil, fmt.Errorf("validation network: %w", err)
		}
		defer p.Close()
		val = p
	}

	rng := rand.New(rand.NewPCG(spec.Seed^trainStream, opts.Stream))
	n := data.Len()
	bs := spec.BatchSize
	batches := (n + bs - 1) / bs
	perm := make([]int, n)
	start := time.Now()
	step := 0
	for epoch := 1; epoch <= spec.Epochs; epoch++ {
		for i := range perm {
			perm[i] = i
		}
		rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		var epochLoss, runLoss float64
		var epochHit, runHit, runItems int
		for b := range batches {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			idx := perm[b*bs : min((b+1)*bs, n)]
			step++
			loss, hits, err := t.step(data, idx, rng)
			if err != nil {
				return nil, fmt.Errorf("epoch %d batch %d (step %d): %w", epoch, b+1, step, err)
			}
			epochLoss += loss * float64(len(idx))
			runLoss += loss * float64(len(idx))
			epochHit += hits
			runHit += hits
			runItems += len(idx)
			if opts.Progress != nil && opts.ReportEvery > 0 && (b+1)%opts.ReportEvery == 0 && b+1 < batches {
				opts.Progress(ml.Progress{Epoch: epoch, Batch: b + 1, Batches: batches, Step: step,
					Loss: runLoss / float64(runItems), Accuracy: float64(runHit) / float64(runItems),
					Items: runItems, ValLoss: -1, ValAccuracy: -1, Elapsed: time.Since(start)})
				runLoss, runHit, runItems = 0, 0, 0
			}
		}
		if opts.Progress != nil {
			p := ml.Progress{Epoch: epoch, Batch: batches, Batches: batches, Step: step, EpochEnd: true,
				Loss: epochLoss / float64(n), Accuracy: float64(epochHit) / float64(n), Items: n,
				ValLoss: -1, ValAccuracy: -1}
			if val != nil {
				ev, err := t.validate(ctx, val.(*predictor), opts.Validation)
				if err != nil {
					return nil, fmt.Errorf("epoch %d validation: %w", epoch, err)
				}
				p.ValLoss, p.ValAccuracy = ev.Loss, ev.Accuracy
			}
			p.Elapsed = time.Since(start)
			opts.Progress(p)
		}
	}
	return t.weights(layout), nil
}

func newTrainer(spec *ml.Spec, k int, init ml.Weights, parallelism int) (*trainer, error) {
	shapes, err := spec.Shapes(k)
	if err != nil {
		return nil, err
	}
	p := parallelism
	if p <= 0 {
		p = runtime.GOMAXPROCS(0)
	}
	p = min(p, spec.BatchSize)
	per := (spec.BatchSize + p - 1) / p
	p = (spec.BatchSize + per - 1) / per // no replica left without rows
	t := &trainer{spec: spec, k: k, per: per, maskElems: dropoutElems(spec, shapes)}
	t.itemSize = spec.Input[0] * spec.Input[1] * spec.Input[2]
	for _, l := range spec.Layers {
		if l.Kind == ml.KindDropout && l.Rate > 0 {
			t.rates = append(t.rates, float32(l.Rate))
		}
	}
	rows := p * per
	t.x = make([]float32, rows*t.itemSize)
	t.y = make([]float32, rows*k)
	for _, e := range t.maskElems {
		t.masks = append(t.masks, make([]float32, rows*e))
	}
	for r := range p {
		rep, err := buildReplica(spec, k, per, init, true)
		if err != nil {
			t.close()
			return nil, err
		}
		views := make([][]float32, len(t.masks))
		for i, m := range t.masks {
			e := t.maskElems[i]
			views[i] = m[r*per*e : (r+1)*per*e]
		}
		rep.bindViews(t.x[r*per*t.itemSize:(r+1)*per*t.itemSize], t.y[r*per*k:(r+1)*per*k], views)
		t.reps = append(t.reps, rep)
	}
	sizes := make([]int, len(init))
	for i, p := range init {
		sizes[i] = p.Tensor.Len()
		t.names = append(t.names, p.Name)
	}
	if t.opt, err = newOptimizer(spec, sizes); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// step trains on the items idx: fills the batch buffers, runs the
// replicas that hold real rows, sums their gradients into replica 0's,
// updates the weights and copies them to the other replicas. It returns
// the batch's mean loss and the number of correct predictions.
func (t *trainer) step(data *ml.Dataset, idx []int, rng *rand.Rand) (float64, int, error) {
	n := len(idx)
	clear(t.y)
	for i, item := range idx {
		copy(t.x[i*t.itemSize:(i+1)*t.itemSize], data.Item(item))
		t.y[i*t.k+data.Y[item]] = 1 / float32(n)
	}
	clear(t.x[n*t.itemSize:])
	// Masks for real rows are drawn in row order, so they do not depend
	// on how rows are split across replicas.
	for m, buf := range t.masks {
		e := t.maskElems[m]
		keep := 1 / (1 - t.rates[m])
		for j := range buf[:n*e] {
			if rng.Float32() < t.rates[m] {
				buf[j] = 0
			} else {
				buf[j] = keep
			}
		}
		clear(buf[n*e:])
	}
	active := (n + t.per - 1) / t.per
	errs := make([]error, active)
	var wg sync.WaitGroup
	for r := range active {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[r] = t.reps[r].run()
		}()
	}
	wg.Wait()
	loss := 0.0
	hits := 0
	for r := range active {
		if errs[r] != nil {
			return 0, 0, errs[r]
		}
		loss += float64(t.reps[r].cost.Data().(float32))
		hits += t.hits(r, data, idx)
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return 0, 0, fmt.Errorf("%w: loss is %v (lower the learning rate, or check the inputs are normalised)", ml.ErrNaNLoss, loss)
	}
	g0, err := t.reps[0].grads()
	if err != nil {
		return 0, 0, err
	}
	for r := 1; r < active; r++ {
		gr, err := t.reps[r].grads()
		if err != nil {
			return 0, 0, err
		}
		for i := range g0 {
			dst := g0[i]
			for j, v := range gr[i] {
				dst[j] += v
			}
			clear(gr[i])
		}
	}
	w0 := t.reps[0].values()
	t.opt.step(w0, g0)
	for _, g := range g0 {
		clear(g)
	}
	for _, rep := range t.reps[1:] {
		for i, w := range rep.values() {
			copy(w, w0[i])
		}
	}
	return loss, hits, nil
}

// hits counts the real rows of replica r whose most probable class is
// the label.
func (t *trainer) hits(r int, data *ml.Dataset, idx []int) int {
	lp := t.reps[r].logp.Data().([]float32)
	h := 0
	for row := 0; row < t.per; row++ {
		i := r*t.per + row
		if i >= len(idx) {
			break
		}
		if argmax(lp[row*t.k:(row+1)*t.k]) == data.Y[idx[i]] {
			h++
		}
	}
	return h
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// weights exports replica 0's parameters in layout order and shapes.
func (t *trainer) weights(layout ml.Weights) ml.Weights {
	out := make(ml.Weights, len(layout))
	for i, v := range t.reps[0].values() {
		tt := tensor.NewFloat32(layout[i].Tensor.Shape...)
		copy(tt.F32, v)
		out[i] = ml.Param{Name: layout[i].Name, Tensor: tt}
	}
	return out
}

func (t *trainer) validate(ctx context.Context, p *predictor, data *ml.Dataset) (*ml.Evaluation, error) {
	p.setWeights(t.reps[0].values())
	probs, err := p.Predict(ctx, data.X)
	if err != nil {
		return nil, err
	}
	return ml.Evaluate(probs, data.Y, data.Classes)
}

func (t *trainer) close() {
	for _, r := range t.reps {
		r.close()
	}
}
