package gorgonia

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"
)

// Rows far apart in scale must each get their own exact log-softmax:
// gorgonia's own kernel measures every row against element [0, 0] and
// turns the second row here into -Inf.
func TestLogSoftmaxRowsIndependent(t *testing.T) {
	t.Parallel()
	x := gt.New(gt.WithShape(2, 3), gt.WithBacking([]float32{200, 0, -5, -150, -151, -149}))
	out, err := logSoftmaxOp{}.Do(x)
	if err != nil {
		t.Fatal(err)
	}
	got := out.Data().([]float32)
	for r := range 2 {
		row := x.Data().([]float32)[r*3 : r*3+3]
		m := math.Max(math.Max(float64(row[0]), float64(row[1])), float64(row[2]))
		s := 0.0
		for _, v := range row {
			s += math.Exp(float64(v) - m)
		}
		for i, v := range row {
			want := float64(v) - m - math.Log(s)
			if g := float64(got[r*3+i]); math.Abs(g-want) > 1e-4 || math.IsInf(g, 0) {
				t.Errorf("row %d col %d: %v, want %v", r, i, g, want)
			}
		}
	}
}

// The loss -sum(y ⊙ logsoftmax(x)) has gradient softmax(x)·sum(y) - y;
// check the graph computes it through our op.
func TestLogSoftmaxGradient(t *testing.T) {
	t.Parallel()
	g := G.NewGraph()
	xv := []float32{1, 2, 0.5, -1, 0, 3}
	yv := []float32{0, 0.5, 0, 0.5, 0, 0}
	x := G.NewMatrix(g, gt.Float32, G.WithShape(2, 3), G.WithName("x"),
		G.WithValue(gt.New(gt.WithShape(2, 3), gt.WithBacking(append([]float32(nil), xv...)))))
	y := G.NewMatrix(g, gt.Float32, G.WithShape(2, 3), G.WithName("y"),
		G.WithValue(gt.New(gt.WithShape(2, 3), gt.WithBacking(yv))))
	lp, err := logSoftmax(x)
	if err != nil {
		t.Fatal(err)
	}
	cost := G.Must(G.Neg(G.Must(G.Sum(G.Must(G.HadamardProd(lp, y))))))
	if _, err := G.Grad(cost, x); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g, G.BindDualValues(x))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	grad, err := x.Grad()
	if err != nil {
		t.Fatal(err)
	}
	got := grad.Data().([]float32)
	for r := range 2 {
		s, ysum := 0.0, 0.0
		for i := range 3 {
			s += math.Exp(float64(xv[r*3+i]))
			ysum += float64(yv[r*3+i])
		}
		for i := range 3 {
			want := math.Exp(float64(xv[r*3+i]))/s*ysum - float64(yv[r*3+i])
			if math.Abs(float64(got[r*3+i])-want) > 1e-5 {
				t.Errorf("d/dx[%d,%d] = %v, want %v", r, i, got[r*3+i], want)
			}
		}
	}
}
