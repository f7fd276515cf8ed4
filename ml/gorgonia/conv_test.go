package gorgonia

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"
)

// Our conv op must compute what gorgonia's Conv2d + BroadcastAdd compute,
// forward and backward, including strides and padding at the edges.
func TestConvMatchesGorgoniaConv2d(t *testing.T) {
	t.Parallel()
	for _, g := range []convGeom{
		{batch: 3, c: 2, h: 7, w: 6, f: 4, k: 3, stride: 1, pad: 1},
		{batch: 2, c: 3, h: 9, w: 9, f: 5, k: 3, stride: 2, pad: 1},
		{batch: 2, c: 1, h: 6, w: 6, f: 2, k: 5, stride: 1, pad: 0},
	} {
		g.oh = (g.h+2*g.pad-g.k)/g.stride + 1
		g.ow = (g.w+2*g.pad-g.k)/g.stride + 1
		rng := rand.New(rand.NewPCG(1, 2))
		rnd := func(n int) []float32 {
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(rng.NormFloat64())
			}
			return v
		}
		xv, wv, bv := rnd(g.batch*g.c*g.h*g.w), rnd(g.f*g.c*g.k*g.k), rnd(g.f)
		// A fixed random weighting of the outputs makes every output
		// gradient distinct.
		cv := rnd(g.batch * g.f * g.oh * g.ow)

		run := func(ours bool) (y, dx, dw, db []float32) {
			gr := G.NewGraph()
			node := func(name string, v []float32, shape ...int) *G.Node {
				return G.NewTensor(gr, gt.Float32, len(shape), G.WithShape(shape...), G.WithName(name),
					G.WithValue(gt.New(gt.WithShape(shape...), gt.WithBacking(append([]float32(nil), v...)))))
			}
			x := node("x", xv, g.batch, g.c, g.h, g.w)
			w := node("w", wv, g.f, g.c, g.k, g.k)
			b := node("b", bv, 1, g.f, 1, 1)
			c := node("c", cv, g.batch, g.f, g.oh, g.ow)
			var out *G.Node
			var err error
			if ours {
				out, err = conv2d(x, w, b, g, true)
			} else {
				out, err = G.Conv2d(x, w, gt.Shape{g.k, g.k}, []int{g.pad, g.pad}, []int{g.stride, g.stride}, []int{1, 1})
				if err == nil {
					out, err = G.BroadcastAdd(out, b, nil, []byte{0, 2, 3})
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			var yv G.Value
			G.Read(out, &yv)
			cost := G.Must(G.Sum(G.Must(G.HadamardProd(out, c))))
			if _, err := G.Grad(cost, x, w, b); err != nil {
				t.Fatal(err)
			}
			vm := G.NewTapeMachine(gr, G.BindDualValues(x, w, b))
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			grads := make([][]float32, 3)
			for i, n := range []*G.Node{x, w, b} {
				gv, err := n.Grad()
				if err != nil {
					t.Fatal(err)
				}
				grads[i] = append([]float32(nil), gv.Data().([]float32)...)
			}
			return append([]float32(nil), yv.Data().([]float32)...), grads[0], grads[1], grads[2]
		}
		y1, dx1, dw1, db1 := run(true)
		y2, dx2, dw2, db2 := run(false)
		for name, pair := range map[string][2][]float32{"output": {y1, y2}, "dx": {dx1, dx2}, "dw": {dw1, dw2}, "db": {db1, db2}} {
			a, b := pair[0], pair[1]
			if len(a) != len(b) {
				t.Fatalf("%+v %s: %d values, gorgonia %d", g, name, len(a), len(b))
			}
			for i := range a {
				if math.Abs(float64(a[i]-b[i])) > 1e-4*(1+math.Abs(float64(b[i]))) {
					t.Fatalf("%+v %s[%d] = %v, gorgonia %v", g, name, i, a[i], b[i])
				}
			}
		}
	}
}
