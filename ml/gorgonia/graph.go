package gorgonia

import (
	"fmt"
	"sync"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/myriadhq/myriad/ml"
)

// replica is one compiled copy of the network for a fixed batch size.
type replica struct {
	g      *G.ExprGraph
	batch  int
	x, y   *G.Node   // input [batch, C, H, W]; scaled one-hot targets [batch, K] (training only)
	masks  []*G.Node // one per dropout layer with rate > 0 (training only)
	params []*G.Node // in ml.Layout order
	logp   G.Value   // read of the log-probabilities [batch, K]
	cost   G.Value   // read of the loss (training only)
	vm     G.VM

	// Input tensors bound to x, y and masks each step; their backing
	// arrays are views into the trainer's batch buffers.
	xT, yT *gt.Dense
	maskT  []*gt.Dense
}

// graphShape returns the shape a layout tensor has inside the graph:
// biases are broadcast, so they carry singleton axes.
func graphShape(shape []int, conv bool) []int {
	if len(shape) == 1 {
		if conv {
			return []int{1, shape[0], 1, 1}
		}
		return []int{1, shape[0]}
	}
	return shape
}

// dropoutElems returns, for each dropout layer with rate > 0, the number
// of values per item it masks.
func dropoutElems(spec *ml.Spec, shapes []ml.LayerShape) []int {
	var out []int
	for i, l := range spec.Layers {
		if l.Kind == ml.KindDropout && l.Rate > 0 {
			n := 1
			for _, d := range shapes[i] {
				n *= d
			}
			out = append(out, n)
		}
	}
	return out
}

var buildMu sync.Mutex

// buildReplica compiles the network for batch items at a time, with its
// parameters initialised to copies of w. A training replica also has the
// loss, its gradients and dropout; an inference replica has neither.
func buildReplica(spec *ml.Spec, numClasses, batch int, w ml.Weights, train bool) (r *replica, err error) {
	// gorgonia numbers the groups of Rectify, Conv2d and MaxPool2D nodes
	// from an unguarded package-level counter (internal/encoding), so two
	// graphs must not be built at once, even in separate trainings.
	buildMu.Lock()
	defer buildMu.Unlock()
	// gorgonia reports some shape errors by panicking.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("build network: gorgonia: %v", p)
		}
	}()
	shapes, err := spec.Shapes(numClasses)
	if err != nil {
		return nil, err
	}
	g := G.NewGraph()
	r = &replica{g: g, batch: batch}
	in := spec.Input
	r.xT = gt.New(gt.WithShape(batch, in[0], in[1], in[2]), gt.Of(gt.Float32))
	r.x = G.NewTensor(g, gt.Float32, 4, G.WithShape(batch, in[0], in[1], in[2]), G.WithName("x"))

	// Parameters in layout order; which layer is conv tells bias shape.
	convLayer := map[string]bool{}
	for i, l := range spec.Layers {
		if l.Kind == ml.KindConv {
			convLayer[fmt.Sprintf("layers.%d.bias", i)] = true
		}
	}
	byName := map[string]*G.Node{}
	for _, p := range w {
		shape := graphShape(p.Tensor.Shape, convLayer[p.Name])
		val := gt.New(gt.WithShape(shape...), gt.WithBacking(append([]float32(nil), p.Tensor.F32...)))
		n := G.NewTensor(g, gt.Float32, len(shape), G.WithShape(shape...), G.WithName(p.Name), G.WithValue(val))
		r.params = append(r.params, n)
		byName[p.Name] = n
	}

	cur := r.x
	flat := false
	flatten := func() error {
		if flat {
			return nil
		}
		s := cur.Shape()
		n := 1
		for _, d := range s[1:] {
			n *= d
		}
		var err error
		cur, err = G.Reshape(cur, gt.Shape{batch, n})
		flat = true
		return err
	}
	activate := func(act string) error {
		var err error
		switch act {
		case ml.ActReLU:
			cur, err = G.Rectify(cur)
		case ml.ActTanh:
			cur, err = G.Tanh(cur)
		case ml.ActSigmoid:
			cur, err = G.Sigmoid(cur)
		case ml.ActNone:
		}
		return err
	}
	for i, l := range spec.Layers {
		wn, bn := byName[fmt.Sprintf("layers.%d.weight", i)], byName[fmt.Sprintf("layers.%d.bias", i)]
		switch l.Kind {
		case ml.KindConv:
			in := cur.Shape()
			geom := convGeom{batch: batch, c: in[1], h: in[2], w: in[3], f: l.Filters, k: l.Kernel,
				stride: l.Stride, pad: l.Padding, oh: shapes[i][1], ow: shapes[i][2]}
			// The network's input needs no gradient.
			if cur, err = conv2d(cur, wn, bn, geom, cur != r.x); err != nil {
				return nil, fmt.Errorf("layer %d (conv): %w", i, err)
			}
			err = activate(l.Activation)
		case ml.KindMaxPool:
			cur, err = G.MaxPool2D(cur, gt.Shape{l.Size, l.Size}, []int{0, 0}, []int{l.Stride, l.Stride})
		case ml.KindDense:
			if err = flatten(); err != nil {
				return nil, fmt.Errorf("layer %d (dense) flatten: %w", i, err)
			}
			if cur, err = G.Mul(cur, wn); err != nil {
				return nil, fmt.Errorf("layer %d (dense): %w", i, err)
			}
			if cur, err = G.BroadcastAdd(cur, bn, nil, []byte{0}); err != nil {
				return nil, fmt.Errorf("layer %d (dense) bias: %w", i, err)
			}
			err = activate(l.Activation)
		case ml.KindFlatten:
			err = flatten()
		case ml.KindDropout:
			if !train || l.Rate == 0 {
				continue
			}
			shape := cur.Shape().Clone()
			m := G.NewTensor(g, gt.Float32, len(shape), G.WithShape(shape...), G.WithName(fmt.Sprintf("mask%d", i)))
			r.masks = append(r.masks, m)
			r.maskT = append(r.maskT, gt.New(gt.WithShape(shape...), gt.Of(gt.Float32)))
			cur, err = G.HadamardProd(cur, m)
		}
		if err != nil {
			return nil, fmt.Errorf("layer %d (%s): %w", i, l.Kind, err)
		}
		if got, want := cur.Shape()[1:], shapes[i]; fmt.Sprint([]int(got)) != fmt.Sprint([]int(want)) {
			return nil, fmt.Errorf("layer %d (%s): gorgonia shape %v, spec says %v", i, l.Kind, got, want)
		}
	}
	if err = flatten(); err != nil {
		return nil, fmt.Errorf("output flatten: %w", err)
	}
	if cur, err = G.Mul(cur, byName["output.weight"]); err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	if cur, err = G.BroadcastAdd(cur, byName["output.bias"], nil, []byte{0}); err != nil {
		return nil, fmt.Errorf("output bias: %w", err)
	}
	// log-softmax, not log(softmax): stable for confident outputs.
	logp, err := logSoftmax(cur)
	if err != nil {
		return nil, fmt.Errorf("log-softmax: %w", err)
	}
	G.Read(logp, &r.logp)
	if !train {
		r.vm = G.NewTapeMachine(g)
		return r, nil
	}
	r.yT = gt.New(gt.WithShape(batch, numClasses), gt.Of(gt.Float32))
	r.y = G.NewMatrix(g, gt.Float32, G.WithShape(batch, numClasses), G.WithName("y"))
	// Targets are one-hot rows scaled by 1/n (zero rows for padding), so
	// -sum(y ⊙ logp) is the mean negative log-likelihood over real rows.
	prod, err := G.HadamardProd(logp, r.y)
	if err != nil {
		return nil, fmt.Errorf("loss: %w", err)
	}
	sum, err := G.Sum(prod)
	if err != nil {
		return nil, fmt.Errorf("loss: %w", err)
	}
	cost, err := G.Neg(sum)
	if err != nil {
		return nil, fmt.Errorf("loss: %w", err)
	}
	G.Read(cost, &r.cost)
	if _, err = G.Grad(cost, r.params...); err != nil {
		return nil, fmt.Errorf("gradients: %w", err)
	}
	r.vm = G.NewTapeMachine(g, G.BindDualValues(r.params...))
	return r, nil
}

// bindViews points the replica's input tensors at slices of the batch
// buffers (its rows), so filling the buffers fills the inputs.
func (r *replica) bindViews(x, y []float32, masks [][]float32) {
	r.xT = gt.New(gt.WithShape(r.xT.Shape()...), gt.WithBacking(x))
	if r.yT != nil {
		r.yT = gt.New(gt.WithShape(r.yT.Shape()...), gt.WithBacking(y))
	}
	for i := range r.maskT {
		r.maskT[i] = gt.New(gt.WithShape(r.maskT[i].Shape()...), gt.WithBacking(masks[i]))
	}
}

// run executes one forward (and, for training, backward) pass.
func (r *replica) run() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("gorgonia: %v", p)
		}
	}()
	if err := G.Let(r.x, r.xT); err != nil {
		return fmt.Errorf("bind input: %w", err)
	}
	if r.y != nil {
		if err := G.Let(r.y, r.yT); err != nil {
			return fmt.Errorf("bind targets: %w", err)
		}
	}
	for i, m := range r.masks {
		if err := G.Let(m, r.maskT[i]); err != nil {
			return fmt.Errorf("bind dropout mask: %w", err)
		}
	}
	defer r.vm.Reset()
	if err := r.vm.RunAll(); err != nil {
		return fmt.Errorf("run network: %w", err)
	}
	return nil
}

// values returns the backing arrays of the parameters.
func (r *replica) values() [][]float32 {
	out := make([][]float32, len(r.params))
	for i, n := range r.params {
		out[i] = n.Value().Data().([]float32)
	}
	return out
}

// grads returns the backing arrays of the parameters' gradients.
func (r *replica) grads() ([][]float32, error) {
	out := make([][]float32, len(r.params))
	for i, n := range r.params {
		g, err := n.Grad()
		if err != nil {
			return nil, fmt.Errorf("gradient of %s: %w", n.Name(), err)
		}
		out[i] = g.Data().([]float32)
	}
	return out, nil
}

func (r *replica) close() {
	if r.vm != nil {
		r.vm.Close()
	}
}
