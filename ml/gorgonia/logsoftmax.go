package gorgonia

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"
)

// logSoftmax is a row-wise log-softmax over a [rows, classes] float32
// matrix. It replaces gorgonia's LogSoftMax, whose float32 kernel
// (gorgonia.org/tensor v0.9.23, softMaxLastDimF32) starts every row's
// maximum from element [0, 0] of the whole matrix and skips the row's own
// first element: the result is right only up to rounding, depends on
// which item sits in row 0 of the batch, and underflows to -Inf (a NaN
// loss) when row 0's logits are far above another row's. It also starts
// one goroutine per row.
func logSoftmax(x *G.Node) (*G.Node, error) { return G.ApplyOp(logSoftmaxOp{}, x) }

type logSoftmaxOp struct{}

func (logSoftmaxOp) Arity() int { return 1 }
func (logSoftmaxOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}
func (logSoftmaxOp) InferShape(in ...G.DimSizer) (gt.Shape, error) {
	s, ok := in[0].(gt.Shape)
	if !ok || s.Dims() != 2 {
		return nil, fmt.Errorf("log-softmax: want a [rows, classes] input, got %v", in[0])
	}
	return s.Clone(), nil
}
func (logSoftmaxOp) ReturnsPtr() bool      { return false }
func (logSoftmaxOp) CallsExtern() bool     { return false }
func (logSoftmaxOp) OverwritesInput() int  { return -1 }
func (logSoftmaxOp) WriteHash(h hash.Hash) { fmt.Fprint(h, "myriadLogSoftmax") }
func (o logSoftmaxOp) Hashcode() uint32    { return hashOf(o) }
func (logSoftmaxOp) String() string        { return "LogSoftmax" }

func (o logSoftmaxOp) Do(in ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, in...) }

func (logSoftmaxOp) UsePreallocDo(prealloc G.Value, in ...G.Value) (G.Value, error) {
	x, err := float32Matrix(in[0])
	if err != nil {
		return nil, fmt.Errorf("log-softmax: %w", err)
	}
	rows, cols := x.Shape()[0], x.Shape()[1]
	src := x.Data().([]float32)
	out := reuse(prealloc, rows, cols)
	dst := out.Data().([]float32)
	for r := range rows {
		row, res := src[r*cols:(r+1)*cols], dst[r*cols:(r+1)*cols]
		m := row[0]
		for _, v := range row[1:] {
			m = max(m, v)
		}
		// Sum in float64: classes are few, and it keeps the result
		// independent of rounding in long rows.
		sum := 0.0
		for _, v := range row {
			sum += math.Exp(float64(v - m))
		}
		lse := float32(math.Log(sum))
		for i, v := range row {
			res[i] = v - m - lse
		}
	}
	return out, nil
}

// DiffWRT and SymDiff make the op differentiable: for y = logsoftmax(x)
// and upstream gradient g, dx = g - exp(y) * sum(g) row by row.
func (logSoftmaxOp) DiffWRT(int) []bool { return []bool{true} }
func (logSoftmaxOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(logSoftmaxGradOp{}, output, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx}, nil
}

type logSoftmaxGradOp struct{}

func (logSoftmaxGradOp) Arity() int { return 2 }
func (logSoftmaxGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a, a)
}
func (logSoftmaxGradOp) InferShape(in ...G.DimSizer) (gt.Shape, error) {
	s, ok := in[0].(gt.Shape)
	if !ok {
		return nil, fmt.Errorf("log-softmax gradient: bad input shape %v", in[0])
	}
	return s.Clone(), nil
}
func (logSoftmaxGradOp) ReturnsPtr() bool      { return false }
func (logSoftmaxGradOp) CallsExtern() bool     { return false }
func (logSoftmaxGradOp) OverwritesInput() int  { return -1 }
func (logSoftmaxGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, "myriadLogSoftmaxGrad") }
func (o logSoftmaxGradOp) Hashcode() uint32    { return hashOf(o) }
func (logSoftmaxGradOp) String() string        { return "LogSoftmaxGrad" }

func (o logSoftmaxGradOp) Do(in ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, in...) }

func (logSoftmaxGradOp) UsePreallocDo(prealloc G.Value, in ...G.Value) (G.Value, error) {
	y, err := float32Matrix(in[0])
	if err != nil {
		return nil, fmt.Errorf("log-softmax gradient: %w", err)
	}
	g, err := float32Matrix(in[1])
	if err != nil {
		return nil, fmt.Errorf("log-softmax gradient: %w", err)
	}
	rows, cols := y.Shape()[0], y.Shape()[1]
	ys, gs := y.Data().([]float32), g.Data().([]float32)
	if len(gs) != len(ys) {
		return nil, fmt.Errorf("log-softmax gradient: %d gradients for %d outputs", len(gs), len(ys))
	}
	out := reuse(prealloc, rows, cols)
	dx := out.Data().([]float32)
	for r := range rows {
		lo, hi := r*cols, (r+1)*cols
		var sum float32
		for _, v := range gs[lo:hi] {
			sum += v
		}
		for i := lo; i < hi; i++ {
			dx[i] = gs[i] - float32(math.Exp(float64(ys[i])))*sum
		}
	}
	return out, nil
}

func float32Matrix(v G.Value) (*gt.Dense, error) {
	d, ok := v.(*gt.Dense)
	if !ok || d.Dtype() != gt.Float32 || d.Shape().Dims() != 2 {
		return nil, fmt.Errorf("want a float32 matrix, got %T %v", v, v.Shape())
	}
	if !d.IsNativelyAccessible() || d.RequiresIterator() {
		// A view (transposed, sliced) would need an iterator; the
		// network never produces one here, so copy rather than guess.
		d = d.Materialize().(*gt.Dense)
	}
	return d, nil
}

func hashOf(op fmt.Stringer) uint32 {
	h := fnv.New32a()
	fmt.Fprint(h, op.String())
	return h.Sum32()
}

var (
	_ G.UsePreallocDoer = logSoftmaxOp{}
	_ G.UsePreallocDoer = logSoftmaxGradOp{}
	_ G.Op              = logSoftmaxOp{}
	_ G.SDOp            = logSoftmaxOp{}
	_ G.Op              = logSoftmaxGradOp{}
)
