package ml

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Layer kinds a Spec may use.
const (
	KindConv    = "conv"
	KindMaxPool = "maxpool"
	KindDense   = "dense"
	KindDropout = "dropout"
	KindFlatten = "flatten"
)

// Activations a conv or dense layer may apply.
const (
	ActReLU    = "relu"
	ActNone    = "none"
	ActTanh    = "tanh"
	ActSigmoid = "sigmoid"
)

// Optimisers a Spec may use.
const (
	OptSGD  = "sgd"
	OptAdam = "adam"
)

// Defaults applied by Spec.WithDefaults.
const (
	DefaultOptimizer    = OptAdam
	DefaultLearningRate = 0.001
	DefaultEpochs       = 1
	DefaultBatchSize    = 64
	DefaultActivation   = ActReLU
)

// Spec describes a network and how to train it. It is what a job spec
// carries (as YAML or JSON), what a model file records, and what a
// hyper-parameter trial varies.
//
// The layers are the hidden layers only: every network ends with a dense
// layer of one unit per class followed by a log-softmax, added by the
// backend, so a spec cannot disagree with the class list it is trained on.
type Spec struct {
	// Input is the shape of one item, channels first: [C, H, W].
	Input []int `json:"input"`
	// Layers are applied in order. A dense layer after a conv or pool
	// layer flattens its input implicitly.
	Layers []Layer `json:"layers"`

	// Optimizer is "sgd" (with optional momentum) or "adam" (default).
	Optimizer string `json:"optimizer,omitempty"`
	// LearningRate is the step size (default 0.001).
	LearningRate float64 `json:"learning_rate,omitempty"`
	// Momentum is SGD's momentum in [0, 1); it must be 0 for adam.
	Momentum float64 `json:"momentum,omitempty"`
	// WeightDecay is an L2 penalty added to every gradient, as PyTorch's
	// weight_decay does (0 = none).
	WeightDecay float64 `json:"weight_decay,omitempty"`
	// Epochs is the number of passes over the training data (default 1).
	Epochs int `json:"epochs,omitempty"`
	// BatchSize is the number of items per optimiser step (default 64).
	BatchSize int `json:"batch_size,omitempty"`
	// Seed makes training deterministic: weight initialisation, shuffling
	// and dropout masks are all drawn from it.
	Seed uint64 `json:"seed,omitempty"`
}

// Layer is one layer of a Spec. Kind selects which other fields apply;
// setting a field that does not apply to the kind is an error, so a typo
// in a job spec is reported rather than silently ignored.
type Layer struct {
	// Kind is one of conv, maxpool, dense, dropout, flatten.
	Kind string `json:"kind"`

	// Filters is the number of output channels of a conv layer.
	Filters int `json:"filters,omitempty"`
	// Kernel is the side of a conv layer's square kernel.
	Kernel int `json:"kernel,omitempty"`
	// Size is the side of a maxpool layer's square window.
	Size int `json:"size,omitempty"`
	// Stride of a conv layer (default 1) or maxpool layer (default Size).
	Stride int `json:"stride,omitempty"`
	// Padding is the zero padding on each side of a conv layer's input.
	Padding int `json:"padding,omitempty"`
	// Units is the width of a dense layer.
	Units int `json:"units,omitempty"`
	// Activation of a conv or dense layer: relu (default), none, tanh,
	// sigmoid.
	Activation string `json:"activation,omitempty"`
	// Rate is the probability that a dropout layer zeroes an element
	// during training, in [0, 1).
	Rate float64 `json:"rate,omitempty"`
}

// ParseSpec decodes a spec from YAML or JSON (JSON is YAML) and validates
// it. Unknown fields are errors, so a misspelt "filter:" is reported.
func ParseSpec(data []byte) (*Spec, error) {
	var s Spec
	if err := yaml.UnmarshalStrict(data, &s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// WithDefaults returns a copy of s with unset fields given their defaults.
func (s Spec) WithDefaults() Spec {
	s.Input = append([]int(nil), s.Input...)
	s.Layers = append([]Layer(nil), s.Layers...)
	if s.Optimizer == "" {
		s.Optimizer = DefaultOptimizer
	}
	if s.LearningRate == 0 {
		s.LearningRate = DefaultLearningRate
	}
	if s.Epochs == 0 {
		s.Epochs = DefaultEpochs
	}
	if s.BatchSize == 0 {
		s.BatchSize = DefaultBatchSize
	}
	for i := range s.Layers {
		l := &s.Layers[i]
		switch l.Kind {
		case KindConv:
			if l.Stride == 0 {
				l.Stride = 1
			}
			if l.Activation == "" {
				l.Activation = DefaultActivation
			}
		case KindMaxPool:
			if l.Stride == 0 {
				l.Stride = l.Size
			}
		case KindDense:
			if l.Activation == "" {
				l.Activation = DefaultActivation
			}
		}
	}
	return s
}

// Clone returns a deep copy of s.
func (s *Spec) Clone() *Spec {
	c := *s
	c.Input = append([]int(nil), s.Input...)
	c.Layers = append([]Layer(nil), s.Layers...)
	return &c
}

// WithParams returns a copy of s with the named fields overridden, as a
// hyper-parameter trial describes them: keys are JSON field names, with
// "layers.N.field" reaching into layer N (e.g. {"learning_rate": 0.01,
// "layers.0.filters": 64}). The result has defaults applied and is
// validated.
func (s *Spec) WithParams(params map[string]any) (*Spec, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("apply params: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("apply params: %w", err)
	}
	for key, v := range params {
		if err := setPath(doc, key, v); err != nil {
			return nil, fmt.Errorf("%w: param %q: %w", ErrInvalidSpec, key, err)
		}
	}
	raw, err = json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: apply params: %w", ErrInvalidSpec, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var out Spec
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("%w: apply params: %w", ErrInvalidSpec, err)
	}
	out = out.WithDefaults()
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return &out, nil
}

// setPath sets doc[a][b]... = v for key "a.b...", where numeric parts
// index lists. Only existing list elements can be reached, so a trial
// cannot invent layers.
func setPath(doc map[string]any, key string, v any) error {
	parts := strings.Split(key, ".")
	var cur any = doc
	for i, p := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[p] = v
				return nil
			}
			next, ok := c[p]
			if !ok {
				return fmt.Errorf("no field %q", strings.Join(parts[:i+1], "."))
			}
			cur = next
		case []any:
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || n >= len(c) {
				return fmt.Errorf("%q is not an index of a %d-element list", strings.Join(parts[:i+1], "."), len(c))
			}
			if last {
				c[n] = v
				return nil
			}
			cur = c[n]
		default:
			return fmt.Errorf("%q is not an object or list", strings.Join(parts[:i], "."))
		}
	}
	return nil
}
