package ml

import (
	"fmt"
	"math"
	"slices"
)

// Preprocess describes how raw items become network input, so a model
// file says how to feed it: each value v of channel c becomes
// (v*Scale - Mean[c]) / Std[c]. Items must already have Shape (resizing
// and cropping are image operators' work).
type Preprocess struct {
	// Shape of one item, [C, H, W].
	Shape []int `json:"shape"`
	// Scale multiplies raw values first (1/255 for 8-bit pixels; 0 means 1).
	Scale float64 `json:"scale,omitempty"`
	// Mean and Std per channel (empty: 0 and 1).
	Mean []float64 `json:"mean,omitempty"`
	Std  []float64 `json:"std,omitempty"`
}

// Validate checks the description is usable.
func (p *Preprocess) Validate() error {
	if len(p.Shape) != 3 || slices.ContainsFunc(p.Shape, func(d int) bool { return d <= 0 }) {
		return fmt.Errorf("%w: preprocess shape %v (want positive [C, H, W])", ErrData, p.Shape)
	}
	c := p.Shape[0]
	if len(p.Mean) != 0 && len(p.Mean) != c {
		return fmt.Errorf("%w: preprocess mean has %d values for %d channels", ErrData, len(p.Mean), c)
	}
	if len(p.Std) != 0 && len(p.Std) != c {
		return fmt.Errorf("%w: preprocess std has %d values for %d channels", ErrData, len(p.Std), c)
	}
	for i, s := range p.Std {
		if !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("%w: preprocess std[%d] = %g must be positive", ErrData, i, s)
		}
	}
	if math.IsNaN(p.Scale) || math.IsInf(p.Scale, 0) || p.Scale < 0 {
		return fmt.Errorf("%w: preprocess scale %g", ErrData, p.Scale)
	}
	return nil
}

// ApplyUint8 turns raw 8-bit items (any number of them, each laid out as
// Shape) into network input.
func (p *Preprocess) ApplyUint8(raw []uint8) ([]float32, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	plane := p.Shape[1] * p.Shape[2]
	item := p.Shape[0] * plane
	if len(raw)%item != 0 {
		return nil, fmt.Errorf("%w: %d values is not a whole number of %v items", ErrData, len(raw), p.Shape)
	}
	// Per-channel affine map a*v + b, computed in float64 once.
	a := make([]float32, p.Shape[0])
	b := make([]float32, p.Shape[0])
	scale := p.Scale
	if scale == 0 {
		scale = 1
	}
	for c := range a {
		mean, std := 0.0, 1.0
		if len(p.Mean) > 0 {
			mean = p.Mean[c]
		}
		if len(p.Std) > 0 {
			std = p.Std[c]
		}
		a[c] = float32(scale / std)
		b[c] = float32(-mean / std)
	}
	out := make([]float32, len(raw))
	for i, v := range raw {
		c := (i % item) / plane
		out[i] = float32(v)*a[c] + b[c]
	}
	return out, nil
}
