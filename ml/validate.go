package ml

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Limits that keep a hostile or mistaken spec from making a trainer
// allocate without bound; far above anything a microtask should train.
const (
	MaxParams          = 64 << 20 // learnable values in one network
	MaxActivationElems = 16 << 20 // values one item produces in one layer
	MaxBatchSize       = 1 << 16
	MaxEpochs          = 10000
	maxLayerParam      = 1 << 20
)

// Validate reports every problem with s, each naming the field (and for a
// layer its index and kind), joined into one error that wraps
// ErrInvalidSpec. It expects defaults to have been applied (ParseSpec and
// WithParams do that).
func (s *Spec) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if len(s.Input) != 3 {
		bad("input: want [C, H, W], got %v", s.Input)
	} else {
		for i, d := range s.Input {
			if d <= 0 {
				bad("input[%d]: %d must be positive", i, d)
			}
		}
	}
	if len(s.Layers) == 0 {
		// Legal (a linear classifier), but in a job spec it is far more
		// often a forgotten block than a choice.
		bad("layers: none given (the output layer is added; list at least one hidden layer)")
	}
	for i, l := range s.Layers {
		for _, e := range l.fieldErrors() {
			bad("layer %d (%s): %s", i, l.Kind, e)
		}
	}
	switch s.Optimizer {
	case OptAdam:
		if s.Momentum != 0 {
			bad("momentum: %g applies to sgd only (adam has its own moments)", s.Momentum)
		}
	case OptSGD:
		if !(s.Momentum >= 0 && s.Momentum < 1) {
			bad("momentum: %g must be in [0, 1)", s.Momentum)
		}
	default:
		bad("optimizer: unknown %q (want sgd or adam)", s.Optimizer)
	}
	if !(s.LearningRate > 0) || math.IsInf(s.LearningRate, 0) {
		bad("learning_rate: %g must be a positive number", s.LearningRate)
	}
	if !(s.WeightDecay >= 0) || math.IsInf(s.WeightDecay, 0) {
		bad("weight_decay: %g must be zero or positive", s.WeightDecay)
	}
	if s.Epochs <= 0 || s.Epochs > MaxEpochs {
		bad("epochs: %d must be in 1..%d", s.Epochs, MaxEpochs)
	}
	if s.BatchSize <= 0 || s.BatchSize > MaxBatchSize {
		bad("batch_size: %d must be in 1..%d", s.BatchSize, MaxBatchSize)
	}
	if len(errs) == 0 {
		// Shapes only make sense once every field is sane.
		if _, err := s.shapes(2); err != nil {
			return err // already wraps ErrInvalidSpec
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidSpec, errors.Join(errs...))
}

// fieldErrors checks one layer's own fields, without shapes.
func (l Layer) fieldErrors() []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	// set lists the fields that hold a non-zero value, so fields that do
	// not belong to the kind can be reported.
	set := map[string]bool{
		"filters": l.Filters != 0, "kernel": l.Kernel != 0, "size": l.Size != 0,
		"stride": l.Stride != 0, "padding": l.Padding != 0, "units": l.Units != 0,
		"activation": l.Activation != "", "rate": l.Rate != 0,
	}
	var allowed []string
	switch l.Kind {
	case KindConv:
		allowed = []string{"filters", "kernel", "stride", "padding", "activation"}
		if l.Filters <= 0 {
			bad("filters: %d must be positive", l.Filters)
		}
		if l.Kernel <= 0 {
			bad("kernel: %d must be positive", l.Kernel)
		}
		if l.Stride <= 0 {
			bad("stride: %d must be positive", l.Stride)
		}
		if l.Padding < 0 {
			bad("padding: %d must not be negative", l.Padding)
		}
	case KindMaxPool:
		allowed = []string{"size", "stride"}
		if l.Size <= 0 {
			bad("size: %d must be positive", l.Size)
		}
		if l.Stride <= 0 {
			bad("stride: %d must be positive", l.Stride)
		}
	case KindDense:
		allowed = []string{"units", "activation"}
		if l.Units <= 0 {
			bad("units: %d must be positive", l.Units)
		}
	case KindDropout:
		allowed = []string{"rate"}
		if !(l.Rate >= 0 && l.Rate < 1) {
			bad("rate: %g must be in [0, 1)", l.Rate)
		}
	case KindFlatten:
	default:
		return []string{fmt.Sprintf("kind: unknown %q (want conv, maxpool, dense, dropout or flatten)", l.Kind)}
	}
	if slices.Contains(allowed, "activation") {
		switch l.Activation {
		case ActReLU, ActNone, ActTanh, ActSigmoid:
		default:
			bad("activation: unknown %q (want relu, none, tanh or sigmoid)", l.Activation)
		}
	}
	for f, v := range map[string]int{"filters": l.Filters, "kernel": l.Kernel, "size": l.Size, "stride": l.Stride, "padding": l.Padding, "units": l.Units} {
		if v > maxLayerParam {
			bad("%s: %d is above the limit %d", f, v, maxLayerParam)
		}
	}
	for _, f := range []string{"filters", "kernel", "size", "stride", "padding", "units", "activation", "rate"} {
		if set[f] && !slices.Contains(allowed, f) {
			bad("field %s does not apply to %s", f, l.Kind)
		}
	}
	return errs
}

// LayerShape is the per-item output of one layer: [C, H, W] or, once
// flattened, [N].
type LayerShape []int

func (s LayerShape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, "×")
}

// Shapes returns the per-item output shape of every hidden layer and,
// last, of the output layer for numClasses classes.
func (s *Spec) Shapes(numClasses int) ([]LayerShape, error) {
	if numClasses < 2 {
		return nil, fmt.Errorf("%w: %d classes (want at least 2)", ErrInvalidSpec, numClasses)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s.shapes(numClasses)
}

func (s *Spec) shapes(numClasses int) ([]LayerShape, error) {
	cur := LayerShape(slices.Clone(s.Input))
	out := make([]LayerShape, 0, len(s.Layers)+1)
	params := 0
	flat := func(sh LayerShape) int {
		n := 1
		for _, d := range sh {
			n *= d
		}
		return n
	}
	for _, d := range cur {
		if d > MaxActivationElems {
			return nil, fmt.Errorf("%w: input: %v has more than %d values per item", ErrInvalidSpec, cur, MaxActivationElems)
		}
	}
	if n := flat(cur); n > MaxActivationElems {
		return nil, fmt.Errorf("%w: input: %v has %d values per item (limit %d)", ErrInvalidSpec, cur, n, MaxActivationElems)
	}
	for i, l := range s.Layers {
		fail := func(format string, args ...any) error {
			return fmt.Errorf("%w: layer %d (%s): %s", ErrInvalidSpec, i, l.Kind, fmt.Sprintf(format, args...))
		}
		switch l.Kind {
		case KindConv:
			if len(cur) != 3 {
				return nil, fail("input is flat (%v); conv needs [C, H, W] (put conv and maxpool layers before dense and flatten)", cur)
			}
			ph, pw := cur[1]+2*l.Padding, cur[2]+2*l.Padding
			if l.Kernel > ph || l.Kernel > pw {
				return nil, fail("kernel: %d is larger than the padded input %d×%d", l.Kernel, ph, pw)
			}
			params += l.Filters*cur[0]*l.Kernel*l.Kernel + l.Filters
			cur = LayerShape{l.Filters, (ph-l.Kernel)/l.Stride + 1, (pw-l.Kernel)/l.Stride + 1}
		case KindMaxPool:
			if len(cur) != 3 {
				return nil, fail("input is flat (%v); maxpool needs [C, H, W]", cur)
			}
			if l.Size > cur[1] || l.Size > cur[2] {
				return nil, fail("size: window %d on a %d×%d input would pool below 1×1", l.Size, cur[1], cur[2])
			}
			cur = LayerShape{cur[0], (cur[1]-l.Size)/l.Stride + 1, (cur[2]-l.Size)/l.Stride + 1}
		case KindDense:
			params += flat(cur)*l.Units + l.Units
			cur = LayerShape{l.Units}
		case KindFlatten:
			cur = LayerShape{flat(cur)}
		case KindDropout:
		}
		if n := flat(cur); n > MaxActivationElems {
			return nil, fail("output %v has %d values per item (limit %d)", cur, n, MaxActivationElems)
		}
		if params > MaxParams {
			return nil, fail("network has more than %d parameters", MaxParams)
		}
		out = append(out, slices.Clone(cur))
	}
	params += flat(cur)*numClasses + numClasses
	if params > MaxParams {
		return nil, fmt.Errorf("%w: output layer: network has more than %d parameters", ErrInvalidSpec, MaxParams)
	}
	return append(out, LayerShape{numClasses}), nil
}
