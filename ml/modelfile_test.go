package ml

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func testModel(t *testing.T) *Model {
	t.Helper()
	s, err := ParseSpec([]byte(lenetYAML))
	if err != nil {
		t.Fatal(err)
	}
	w, err := Layout(s, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range w {
		for j := range p.Tensor.F32 {
			p.Tensor.F32[j] = float32(i) + float32(j)/1000
		}
	}
	return &Model{Backend: "test", Spec: *s, Classes: []string{"cat", "dog", "fox"},
		Preprocess: Preprocess{Shape: []int{1, 28, 28}, Scale: 1.0 / 255, Mean: []float64{0.5}, Std: []float64{0.25}},
		Weights:    w}
}

func TestModelFileRoundTrip(t *testing.T) {
	t.Parallel()
	m := testModel(t)
	var buf bytes.Buffer
	if err := WriteModel(&buf, m); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	// Self-describing: the JSON header names the format, classes and
	// every tensor without any of our code.
	for _, s := range []string{`"format": "myriad-model"`, `"version": 1`, `"fox"`, `"output.weight"`, `"mean"`, `"kind": "conv"`} {
		if !bytes.Contains(raw, []byte(s)) {
			t.Errorf("header lacks %s", s)
		}
	}
	got, err := ReadModel(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got.Backend != "test" || strings.Join(got.Classes, ",") != "cat,dog,fox" || got.Spec.Layers[2].Activation != ActTanh ||
		got.Preprocess.Std[0] != 0.25 || got.Spec.Seed != 3 {
		t.Errorf("read back %+v", got)
	}
	for i, p := range got.Weights {
		for j, v := range p.Tensor.F32 {
			if v != m.Weights[i].Tensor.F32[j] {
				t.Fatalf("%s[%d] = %v, want %v", p.Name, j, v, m.Weights[i].Tensor.F32[j])
			}
		}
	}
}

func TestModelFileRejectsBadFiles(t *testing.T) {
	t.Parallel()
	m := testModel(t)
	var buf bytes.Buffer
	if err := WriteModel(&buf, m); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	newer := append([]byte(nil), raw...)
	newer[4] = 2
	cases := map[string][]byte{
		"not a model":    []byte("hello world, not a model"),
		"newer version":  newer,
		"truncated":      raw[:len(raw)-10],
		"header garbage": append(append([]byte(nil), raw[:9]...), bytes.Repeat([]byte{'x'}, len(raw)-9)...),
	}
	for name, b := range cases {
		if _, err := ReadModel(bytes.NewReader(b)); !errors.Is(err, ErrModelFile) {
			t.Errorf("%s: got %v, want ErrModelFile", name, err)
		}
	}
	// Weights that do not fit the spec are refused on write and read.
	bad := testModel(t)
	bad.Classes = bad.Classes[:2]
	if err := WriteModel(&bytes.Buffer{}, bad); !errors.Is(err, ErrWeights) {
		t.Errorf("write with 2 classes for 3 outputs: got %v, want ErrWeights", err)
	}
}
