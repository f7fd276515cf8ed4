package ml

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const lenetYAML = `
input: [1, 28, 28]
layers:
  - {kind: conv, filters: 6, kernel: 5, padding: 2}
  - {kind: maxpool, size: 2}
  - {kind: conv, filters: 16, kernel: 5, activation: tanh}
  - {kind: maxpool, size: 2, stride: 2}
  - {kind: flatten}
  - {kind: dense, units: 120}
  - {kind: dropout, rate: 0.5}
optimizer: sgd
momentum: 0.9
learning_rate: 0.01
weight_decay: 0.0005
epochs: 2
batch_size: 32
seed: 3
`

func TestParseSpecYAMLAndJSON(t *testing.T) {
	t.Parallel()
	s, err := ParseSpec([]byte(lenetYAML))
	if err != nil {
		t.Fatal(err)
	}
	if s.Layers[0].Stride != 1 || s.Layers[0].Activation != ActReLU || s.Layers[1].Stride != 2 {
		t.Errorf("defaults not applied: %+v", s.Layers[:2])
	}
	shapes, err := s.Shapes(10)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"6×28×28", "6×14×14", "16×10×10", "16×5×5", "400", "120", "120", "10"}
	for i, w := range want {
		if shapes[i].String() != w {
			t.Errorf("layer %d shape %v, want %s", i, shapes[i], w)
		}
	}
	js := `{"input":[3,8,8],"layers":[{"kind":"dense","units":4}],"epochs":1}`
	j, err := ParseSpec([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	if j.Optimizer != OptAdam || j.LearningRate != DefaultLearningRate || j.BatchSize != DefaultBatchSize {
		t.Errorf("JSON defaults: %+v", j)
	}
}

func TestValidateNamesTheProblem(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		yaml string
		want []string
	}{
		"pooling below 1x1": {`
input: [1, 8, 8]
layers:
  - {kind: maxpool, size: 2}
  - {kind: maxpool, size: 2}
  - {kind: maxpool, size: 2}
  - {kind: maxpool, size: 2}`, []string{"layer 3 (maxpool)", "size", "1×1"}},
		"kernel larger than input": {`
input: [1, 4, 4]
layers: [{kind: conv, filters: 2, kernel: 5}]`, []string{"layer 0 (conv)", "kernel", "larger than the padded input 4×4"}},
		"unknown layer kind": {`
input: [1, 4, 4]
layers: [{kind: flatten}, {kind: convolution}]`, []string{"layer 1", `unknown "convolution"`}},
		"field of another kind": {`
input: [1, 4, 4]
layers: [{kind: maxpool, size: 2, filters: 3}]`, []string{"layer 0 (maxpool)", "field filters does not apply"}},
		"bad params": {`
input: [1, 4, 4]
layers: [{kind: conv, filters: 0, kernel: 3, padding: -1, activation: swish}, {kind: dropout, rate: 1.5}]
optimizer: rmsprop
learning_rate: -1
batch_size: -3`, []string{"layer 0 (conv): filters", "layer 0 (conv): padding", `activation: unknown "swish"`,
			"layer 1 (dropout): rate", `optimizer: unknown "rmsprop"`, "learning_rate", "batch_size"}},
		"conv after dense": {`
input: [1, 4, 4]
layers: [{kind: dense, units: 3}, {kind: conv, filters: 2, kernel: 1}]`, []string{"layer 1 (conv)", "input is flat"}},
		"misspelt field": {`
input: [1, 4, 4]
layers: [{kind: conv, filter: 2, kernel: 1}]`, []string{`unknown field "filter"`}},
		"momentum with adam": {`
input: [1, 4, 4]
layers: [{kind: flatten}]
momentum: 0.9`, []string{"momentum", "sgd only"}},
		"bad input": {`
input: [1, 4]
layers: [{kind: flatten}]`, []string{"input: want [C, H, W]"}},
		"huge layer": {`
input: [1, 4, 4]
layers: [{kind: dense, units: 1000000}, {kind: dense, units: 1000000}]`, []string{"layer 1 (dense)", "parameters"}},
	}
	for name, c := range cases {
		_, err := ParseSpec([]byte(c.yaml))
		if !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("%s: got %v, want ErrInvalidSpec", name, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", name, err, w)
			}
		}
	}
}

func TestWithParams(t *testing.T) {
	t.Parallel()
	s, err := ParseSpec([]byte(lenetYAML))
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.WithParams(map[string]any{"learning_rate": 0.05, "layers.5.units": 64, "batch_size": 16.0})
	if err != nil {
		t.Fatal(err)
	}
	if got.LearningRate != 0.05 || got.Layers[5].Units != 64 || got.BatchSize != 16 {
		t.Errorf("params not applied: lr %v units %d batch %d", got.LearningRate, got.Layers[5].Units, got.BatchSize)
	}
	if s.LearningRate != 0.01 || s.Layers[5].Units != 120 {
		t.Error("WithParams changed the original spec")
	}
	for key, v := range map[string]any{"layers.9.units": 3, "no_such_field": 1, "layers.0.kernel": 50, "epochs": "many"} {
		if _, err := s.WithParams(map[string]any{key: v}); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("param %s=%v: got %v, want ErrInvalidSpec", key, v, err)
		}
	}
}

func TestLayoutNamesAndShapes(t *testing.T) {
	t.Parallel()
	s, err := ParseSpec([]byte(lenetYAML))
	if err != nil {
		t.Fatal(err)
	}
	w, err := Layout(s, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"layers.0.weight": "[6 1 5 5]", "layers.0.bias": "[6]",
		"layers.2.weight": "[16 6 5 5]", "layers.2.bias": "[16]",
		"layers.5.weight": "[400 120]", "layers.5.bias": "[120]",
		"output.weight": "[120 10]", "output.bias": "[10]",
	}
	if len(w) != len(want) {
		t.Fatalf("%d tensors, want %d", len(w), len(want))
	}
	for _, p := range w {
		if got := fmt.Sprint(p.Tensor.Shape); got != want[p.Name] {
			t.Errorf("%s: shape %v, want %s", p.Name, p.Tensor.Shape, want[p.Name])
		}
	}
	if n := w.NumValues(); n != 6*25+6+16*6*25+16+400*120+120+1210 {
		t.Errorf("%d values", n)
	}
}
