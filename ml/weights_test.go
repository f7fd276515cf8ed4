package ml

import (
	"bytes"
	"errors"
	"testing"

	"github.com/myriadhq/myriad/tensor"
)

func weightsOf(vals ...[]float32) Weights {
	var w Weights
	for i, v := range vals {
		t := tensor.NewFloat32(len(v))
		copy(t.F32, v)
		w = append(w, Param{Name: []string{"a", "b", "c"}[i], Tensor: t})
	}
	return w
}

func TestAverageWeightsBySize(t *testing.T) {
	t.Parallel()
	ws := []Weights{
		weightsOf([]float32{1, 2}, []float32{10}),
		weightsOf([]float32{3, 6}, []float32{-10}),
		weightsOf([]float32{100, 100}, []float32{100}),
	}
	got, err := AverageWeights(ws, []int{3, 1, 0})
	if err != nil {
		t.Fatal(err)
	}
	// (3·1 + 1·3)/4 = 1.5, (3·2 + 1·6)/4 = 3, (3·10 - 10)/4 = 5; size 0 has no weight.
	want := [][]float32{{1.5, 3}, {5}}
	for i, p := range got {
		for j, v := range p.Tensor.F32 {
			if v != want[i][j] {
				t.Errorf("%s[%d] = %v, want %v", p.Name, j, v, want[i][j])
			}
		}
	}
	if ws[0][0].Tensor.F32[0] != 1 {
		t.Error("AverageWeights changed its input")
	}
	bad := []struct {
		ws    []Weights
		sizes []int
	}{
		{nil, nil},
		{ws[:2], []int{1}},
		{ws[:2], []int{0, 0}},
		{ws[:2], []int{-1, 2}},
		{[]Weights{ws[0], weightsOf([]float32{1, 2, 3}, []float32{1})}, []int{1, 1}},
		{[]Weights{ws[0], weightsOf([]float32{1, 2})}, []int{1, 1}},
	}
	for i, c := range bad {
		if _, err := AverageWeights(c.ws, c.sizes); !errors.Is(err, ErrWeights) {
			t.Errorf("case %d: got %v, want ErrWeights", i, err)
		}
	}
}

func TestWeightsEncodeDecode(t *testing.T) {
	t.Parallel()
	w := weightsOf([]float32{1.5, -2}, []float32{3})
	var buf bytes.Buffer
	if err := EncodeWeights(&buf, w); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	got, err := DecodeWeights(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := got.CheckLike(w); err != nil || got[0].Tensor.F32[1] != -2 || got[1].Tensor.F32[0] != 3 {
		t.Fatalf("round trip: %v %v", got, err)
	}
	for name, b := range map[string][]byte{
		"truncated":   raw[:len(raw)-2],
		"bad magic":   append([]byte("XXXX"), raw[4:]...),
		"bad version": append(append([]byte("MYRW"), 9), raw[5:]...),
		"empty":       nil,
	} {
		if _, err := DecodeWeights(bytes.NewReader(b)); !errors.Is(err, ErrWeights) {
			t.Errorf("%s: got %v, want ErrWeights", name, err)
		}
	}
}
