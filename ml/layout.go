package ml

import (
	"fmt"

	"github.com/myriadhq/myriad/tensor"
)

// Layout returns zero-valued weights with the names and shapes every
// backend uses for spec and numClasses (see Param), so weights can be
// checked, averaged and stored without a backend.
func Layout(spec *Spec, numClasses int) (Weights, error) {
	shapes, err := spec.Shapes(numClasses)
	if err != nil {
		return nil, err
	}
	var w Weights
	in := LayerShape(spec.Input)
	add := func(name string, shape ...int) {
		w = append(w, Param{Name: name, Tensor: tensor.NewFloat32(shape...)})
	}
	flat := func(s LayerShape) int {
		n := 1
		for _, d := range s {
			n *= d
		}
		return n
	}
	for i, l := range spec.Layers {
		switch l.Kind {
		case KindConv:
			add(fmt.Sprintf("layers.%d.weight", i), l.Filters, in[0], l.Kernel, l.Kernel)
			add(fmt.Sprintf("layers.%d.bias", i), l.Filters)
		case KindDense:
			add(fmt.Sprintf("layers.%d.weight", i), flat(in), l.Units)
			add(fmt.Sprintf("layers.%d.bias", i), l.Units)
		}
		in = shapes[i]
	}
	add("output.weight", flat(in), numClasses)
	add("output.bias", numClasses)
	return w, nil
}

// FanIn returns the number of inputs feeding each output of the layer
// that owns weight tensor t ([out-ch, in-ch, k, k] or [in, out]); biases
// share their weight's fan-in. Backends use it for PyTorch's default
// initialisation, uniform in ±1/sqrt(fan-in).
func FanIn(weight *tensor.Tensor) int {
	s := weight.Shape
	if len(s) == 4 {
		return s[1] * s[2] * s[3]
	}
	return s[0]
}
