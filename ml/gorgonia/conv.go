package gorgonia

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"
)

// conv2d is a convolution with bias as one gorgonia op, replacing
// gorgonia's Conv2d + BroadcastAdd. gorgonia's Conv2d runs im2col, a
// matrix product whose result is laid out [batch, H, W, filters], and a
// Transpose back to [batch, filters, H, W] — an element-by-element
// iterator copy that, with its gradient, took a fifth of training time in
// profiles — and then broadcasts the bias with another iterator. This op
// lays the im2col matrix out so the product comes out filter-major, moves
// whole rows into [batch, filters, H, W], adds the bias while doing so, and
// skips the input gradient of the first layer, which nothing uses.
//
// Arithmetic is the same im2col + GEMM (gonum's float32 BLAS, as gorgonia
// uses); only data movement differs.
func conv2d(x, w, b *G.Node, g convGeom, inputGrad bool) (*G.Node, error) {
	op := &convOp{geom: g, st: &convState{}, inputGrad: inputGrad}
	return G.ApplyOp(op, x, w, b)
}

// convGeom is the fixed geometry of one conv layer in one replica.
type convGeom struct {
	batch, c, h, w    int // input
	f, k, stride, pad int
	oh, ow            int // output
}

func (g convGeom) ckk() int  { return g.c * g.k * g.k }
func (g convGeom) ohw() int  { return g.oh * g.ow }
func (g convGeom) cols() int { return g.batch * g.ohw() }

// convState holds buffers shared by a conv op and its gradient ops. A
// replica runs its graph on one goroutine, forward before backward, so
// the backward ops find the forward pass's im2col matrix here; they check
// it was built from the same input before using it.
type convState struct {
	col    []float32 // [ckk, batch*oh*ow]
	colSrc *float32  // first element of the input col was built from
	prod   []float32 // [f, batch*oh*ow] scratch
	dyT    []float32 // [f, batch*oh*ow] output gradient, filter-major
	dySrc  *float32
	dcol   []float32 // [ckk, batch*oh*ow]
}

func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// im2col fills st.col from x [batch, c, h, w]: row (ci, ki, kj), column
// (image, oy, ox) holds x[image, ci, oy*stride-pad+ki, ox*stride-pad+kj],
// zero outside the image.
func (st *convState) im2col(g convGeom, x []float32) {
	if len(x) > 0 && st.colSrc == &x[0] && len(st.col) == g.ckk()*g.cols() {
		return
	}
	st.col = grow(st.col, g.ckk()*g.cols())
	cols := g.cols()
	for ci := range g.c {
		for ki := range g.k {
			for kj := range g.k {
				row := st.col[((ci*g.k+ki)*g.k+kj)*cols:][:cols]
				for img := range g.batch {
					src := x[(img*g.c+ci)*g.h*g.w:][:g.h*g.w]
					dst := row[img*g.ohw():][:g.ohw()]
					for oy := range g.oh {
						iy := oy*g.stride - g.pad + ki
						out := dst[oy*g.ow:][:g.ow]
						if iy < 0 || iy >= g.h {
							clear(out)
							continue
						}
						line := src[iy*g.w:][:g.w]
						for ox := range out {
							ix := ox*g.stride - g.pad + kj
							if ix < 0 || ix >= g.w {
								out[ox] = 0
							} else {
								out[ox] = line[ix]
							}
						}
					}
				}
			}
		}
	}
	st.colSrc = &x[0]
}

// col2im adds st.dcol back into dx [batch, c, h, w] (the adjoint of
// im2col).
func (st *convState) col2im(g convGeom, dx []float32) {
	cols := g.cols()
	for ci := range g.c {
		for ki := range g.k {
			for kj := range g.k {
				row := st.dcol[((ci*g.k+ki)*g.k+kj)*cols:][:cols]
				for img := range g.batch {
					dst := dx[(img*g.c+ci)*g.h*g.w:][:g.h*g.w]
					src := row[img*g.ohw():][:g.ohw()]
					for oy := range g.oh {
						iy := oy*g.stride - g.pad + ki
						if iy < 0 || iy >= g.h {
							continue
						}
						line := dst[iy*g.w:][:g.w]
						in := src[oy*g.ow:][:g.ow]
						for ox, v := range in {
							ix := ox*g.stride - g.pad + kj
							if ix >= 0 && ix < g.w {
								line[ix] += v
							}
						}
					}
				}
			}
		}
	}
}

// transposeDy fills st.dyT [f, batch*ohw] from dy [batch, f, ohw].
func (st *convState) transposeDy(g convGeom, dy []float32) {
	if len(dy) > 0 && st.dySrc == &dy[0] && len(st.dyT) == g.f*g.cols() {
		return
	}
	st.dyT = grow(st.dyT, g.f*g.cols())
	n := g.ohw()
	for img := range g.batch {
		for f := range g.f {
			copy(st.dyT[f*g.cols()+img*n:][:n], dy[(img*g.f+f)*n:][:n])
		}
	}
	st.dySrc = &dy[0]
}

// convOp: (x [B,C,H,W], w [F,C,K,K], b [1,F,1,1]) → y [B,F,OH,OW].
type convOp struct {
	geom      convGeom
	st        *convState
	inputGrad bool
}

func (op *convOp) Arity() int { return 3 }
func (op *convOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a, a, a)
}
func (op *convOp) InferShape(...G.DimSizer) (gt.Shape, error) {
	g := op.geom
	return gt.Shape{g.batch, g.f, g.oh, g.ow}, nil
}
func (op *convOp) ReturnsPtr() bool      { return false }
func (op *convOp) CallsExtern() bool     { return false }
func (op *convOp) OverwritesInput() int  { return -1 }
func (op *convOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *convOp) Hashcode() uint32      { return hashOf(op) }
func (op *convOp) String() string {
	return fmt.Sprintf("Conv%+v@%p", op.geom, op.st)
}

func (op *convOp) Do(in ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, in...) }

// UsePreallocDo lets the tape machine hand back last step's output tensor
// to write into, so a training step does not allocate its activations
// afresh (fresh memory costs page faults and GC work every step).
func (op *convOp) UsePreallocDo(prealloc G.Value, in ...G.Value) (G.Value, error) {
	g := op.geom
	x, err := float32s(in[0], g.batch*g.c*g.h*g.w)
	if err != nil {
		return nil, fmt.Errorf("conv input: %w", err)
	}
	w, err := float32s(in[1], g.f*g.ckk())
	if err != nil {
		return nil, fmt.Errorf("conv weights: %w", err)
	}
	b, err := float32s(in[2], g.f)
	if err != nil {
		return nil, fmt.Errorf("conv bias: %w", err)
	}
	st := op.st
	// A new forward pass: buffers may be reused across steps, so never
	// trust a cache from the previous one.
	st.colSrc, st.dySrc = nil, nil
	st.im2col(g, x)
	cols := g.cols()
	st.prod = grow(st.prod, g.f*cols)
	blas32.Sgemm(blas.NoTrans, blas.NoTrans, g.f, cols, g.ckk(), 1, w, g.ckk(), st.col, cols, 0, st.prod, cols)
	out := reuse(prealloc, g.batch, g.f, g.oh, g.ow)
	y := out.Data().([]float32)
	n := g.ohw()
	for img := range g.batch {
		for f := range g.f {
			dst := y[(img*g.f+f)*n:][:n]
			src := st.prod[f*cols+img*n:][:n]
			bias := b[f]
			for i, v := range src {
				dst[i] = v + bias
			}
		}
	}
	return out, nil
}

func (op *convOp) DiffWRT(int) []bool { return []bool{op.inputGrad, true, true} }

func (op *convOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	x, w := inputs[0], inputs[1]
	dw, err := G.ApplyOp(&convGradOp{convOp: op, wrt: wrtWeights}, x, grad)
	if err != nil {
		return nil, err
	}
	db, err := G.ApplyOp(&convGradOp{convOp: op, wrt: wrtBias}, grad)
	if err != nil {
		return nil, err
	}
	var dx *G.Node
	if op.inputGrad {
		if dx, err = G.ApplyOp(&convGradOp{convOp: op, wrt: wrtInput}, w, grad); err != nil {
			return nil, err
		}
	}
	return G.Nodes{dx, dw, db}, nil
}

type wrt int

const (
	wrtInput   wrt = iota // (w, dy) → dx
	wrtWeights            // (x, dy) → dw
	wrtBias               // (dy) → db
)

// convGradOp computes one of the conv op's three gradients.
type convGradOp struct {
	*convOp
	wrt wrt
}

func (op *convGradOp) Arity() int {
	if op.wrt == wrtBias {
		return 1
	}
	return 2
}
func (op *convGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	if op.wrt == wrtBias {
		return hm.NewFnType(a, a)
	}
	return hm.NewFnType(a, a, a)
}
func (op *convGradOp) InferShape(...G.DimSizer) (gt.Shape, error) {
	g := op.geom
	switch op.wrt {
	case wrtInput:
		return gt.Shape{g.batch, g.c, g.h, g.w}, nil
	case wrtWeights:
		return gt.Shape{g.f, g.c, g.k, g.k}, nil
	}
	return gt.Shape{1, g.f, 1, 1}, nil
}
func (op *convGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *convGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *convGradOp) String() string {
	return fmt.Sprintf("ConvGrad%d%+v@%p", op.wrt, op.geom, op.st)
}

func (op *convGradOp) Do(in ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, in...) }

func (op *convGradOp) UsePreallocDo(prealloc G.Value, in ...G.Value) (G.Value, error) {
	g, st := op.geom, op.st
	cols := g.cols()
	dy, err := float32s(in[len(in)-1], g.batch*g.f*g.ohw())
	if err != nil {
		return nil, fmt.Errorf("conv gradient: %w", err)
	}
	switch op.wrt {
	case wrtBias:
		out := reuse(prealloc, 1, g.f, 1, 1)
		db := out.Data().([]float32)
		clear(db)
		n := g.ohw()
		for img := range g.batch {
			for f := range g.f {
				s := float32(0)
				for _, v := range dy[(img*g.f+f)*n:][:n] {
					s += v
				}
				db[f] += s
			}
		}
		return out, nil
	case wrtWeights:
		x, err := float32s(in[0], g.batch*g.c*g.h*g.w)
		if err != nil {
			return nil, fmt.Errorf("conv gradient: %w", err)
		}
		st.im2col(g, x) // normally cached from the forward pass
		st.transposeDy(g, dy)
		out := reuse(prealloc, g.f, g.c, g.k, g.k)
		blas32.Sgemm(blas.NoTrans, blas.Trans, g.f, g.ckk(), cols, 1, st.dyT, cols, st.col, cols, 0, out.Data().([]float32), g.ckk())
		return out, nil
	default:
		w, err := float32s(in[0], g.f*g.ckk())
		if err != nil {
			return nil, fmt.Errorf("conv gradient: %w", err)
		}
		st.transposeDy(g, dy)
		st.dcol = grow(st.dcol, g.ckk()*cols)
		blas32.Sgemm(blas.Trans, blas.NoTrans, g.ckk(), cols, g.f, 1, w, g.ckk(), st.dyT, cols, 0, st.dcol, cols)
		out := reuse(prealloc, g.batch, g.c, g.h, g.w)
		dx := out.Data().([]float32)
		clear(dx)
		st.col2im(g, dx)
		return out, nil
	}
}

// reuse returns prealloc if it is a plain float32 tensor of exactly this
// shape, else a new one. Callers overwrite (or clear) every element.
func reuse(prealloc G.Value, shape ...int) *gt.Dense {
	if d, ok := prealloc.(*gt.Dense); ok && d.Dtype() == gt.Float32 && d.Shape().Eq(gt.Shape(shape)) &&
		d.IsNativelyAccessible() && !d.RequiresIterator() && d.DataSize() == gt.Shape(shape).TotalSize() {
		return d
	}
	return gt.New(gt.WithShape(shape...), gt.Of(gt.Float32))
}

// float32s returns the backing slice of a dense float32 value of n
// elements.
func float32s(v G.Value, n int) ([]float32, error) {
	d, ok := v.(*gt.Dense)
	if !ok || d.Dtype() != gt.Float32 {
		return nil, fmt.Errorf("want a float32 tensor, got %T", v)
	}
	if !d.IsNativelyAccessible() || d.RequiresIterator() {
		d = d.Materialize().(*gt.Dense)
	}
	s := d.Data().([]float32)
	if len(s) != n {
		return nil, fmt.Errorf("tensor of shape %v has %d values, want %d", d.Shape(), len(s), n)
	}
	return s, nil
}

var (
	_ G.UsePreallocDoer = (*convOp)(nil)
	_ G.UsePreallocDoer = (*convGradOp)(nil)
	_ G.Op              = (*convOp)(nil)
	_ G.SDOp            = (*convOp)(nil)
	_ G.Op              = (*convGradOp)(nil)
)
