package imgproc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Step operations. The deterministic ones mirror torchvision's Resize,
// CenterCrop and Grayscale; the random ones its RandomCrop,
// RandomResizedCrop, RandomHorizontalFlip, RandomVerticalFlip,
// RandomRotation, RandomAffine(scale=...) and ColorJitter(brightness=...).
const (
	OpResize            = "resize"
	OpCenterCrop        = "center_crop"
	OpGrayscale         = "grayscale"
	OpRandomCrop        = "random_crop"
	OpRandomResizedCrop = "random_resized_crop"
	OpHFlip             = "hflip"
	OpVFlip             = "vflip"
	OpRotate            = "rotate"
	OpScale             = "scale"
	OpBrightness        = "brightness"
)

// Output formats.
const (
	FormatTensor = "tensor"
	FormatPNG    = "png"
)

// MaxSide bounds any size a pipeline asks for, so a job spec cannot make a
// worker allocate a gigantic image (a decompression bomb by configuration).
const MaxSide = 8192

// Step is one transform. Only the fields its Op uses may be set; Validate
// names any other.
type Step struct {
	Op string `json:"op"`
	// Size is [s] or [h, w]. For resize, [s] matches the shorter edge to s
	// keeping the aspect ratio (torchvision Resize(int)); [h, w] is exact.
	// For the crops, [s] means a square.
	Size []int `json:"size,omitempty"`
	// Interpolation for resize, random_resized_crop and scale: "bilinear"
	// (default, antialiased like PIL), "bicubic", "lanczos", "nearest",
	// "box".
	Interpolation string `json:"interpolation,omitempty"`
	// Padding adds this many black pixels on every side before a
	// random_crop (torchvision RandomCrop(padding=...)).
	Padding int `json:"padding,omitempty"`
	// Scale is the range of the crop's area as a fraction of the image for
	// random_resized_crop (default [0.08, 1]), or of the zoom factor for
	// scale (e.g. [0.9, 1.1]).
	Scale []float64 `json:"scale,omitempty"`
	// Ratio is the aspect ratio range for random_resized_crop (default
	// [3/4, 4/3]).
	Ratio []float64 `json:"ratio,omitempty"`
	// Degrees is the rotation range [lo, hi], counter-clockwise.
	Degrees []float64 `json:"degrees,omitempty"`
	// Factor is the brightness multiplier range [lo, hi].
	Factor []float64 `json:"factor,omitempty"`
	// P is the flip probability, default 0.5.
	P *float64 `json:"p,omitempty"`
	// Channels is 1 or 3 for grayscale (torchvision num_output_channels).
	Channels int `json:"channels,omitempty"`
}

// Output says how the result is stored.
type Output struct {
	// Format is "tensor" (default): float32 [C, H, W], values in [0, 1]
	// (torchvision ToTensor) then normalised by Mean and Std if given; or
	// "png": the transformed image, for a later stage to continue from.
	Format string `json:"format,omitempty"`
	// Mean and Std, one value per output channel, normalise each channel
	// as (x - mean) / std (torchvision Normalize). Tensor output only.
	Mean []float64 `json:"mean,omitempty"`
	Std  []float64 `json:"std,omitempty"`
}

// Pipeline is a preprocess or augment stage's parameters: transforms
// applied in order to the decoded RGB image, then the output encoding. It
// is what the job spec carries as stage params.
type Pipeline struct {
	Steps  []Step `json:"steps,omitempty"`
	Output Output `json:"output,omitzero"`
	// Limits bound decoding of the input.
	Limits Limits `json:"limits,omitzero"`
}

// ImageNet's channel statistics, the usual Normalize for 224×224 RGB.
var (
	ImageNetMean = []float64{0.485, 0.456, 0.406}
	ImageNetStd  = []float64{0.229, 0.224, 0.225}
)

// ParsePipeline decodes JSON strictly (unknown fields are errors, so a
// misspelt "szie" is reported instead of ignored) and validates it.
func ParsePipeline(data []byte) (*Pipeline, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Pipeline
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("parse pipeline: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Channels returns the number of channels the pipeline outputs: that of
// the last grayscale step, else 3 (RGB).
func (p *Pipeline) Channels() int {
	c := 3
	for _, s := range p.Steps {
		if s.Op == OpGrayscale {
			c = s.Channels
		}
	}
	return c
}

// Random reports whether any step draws random numbers, i.e. whether the
// seed matters.
func (p *Pipeline) Random() bool {
	for _, s := range p.Steps {
		switch s.Op {
		case OpRandomCrop, OpRandomResizedCrop, OpHFlip, OpVFlip, OpRotate, OpScale, OpBrightness:
			return true
		}
	}
	return false
}

// Validate reports every bad field, each named by its path
// ("steps[2].size: ...").
func (p *Pipeline) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	for i, s := range p.Steps {
		validateStep(fmt.Sprintf("steps[%d]", i), s, add)
	}
	o := p.Output
	switch o.Format {
	case "", FormatTensor:
		ch := p.Channels()
		if (o.Mean == nil) != (o.Std == nil) {
			add("output", "mean and std must be given together")
		}
		if o.Mean != nil && len(o.Mean) != ch {
			add("output.mean", "%d values for %d output channels", len(o.Mean), ch)
		}
		if o.Std != nil && len(o.Std) != ch {
			add("output.std", "%d values for %d output channels", len(o.Std), ch)
		}
		for i, v := range o.Mean {
			if !finite(v) {
				add(fmt.Sprintf("output.mean[%d]", i), "must be a finite number")
			}
		}
		for i, v := range o.Std {
			if !finite(v) || v <= 0 {
				add(fmt.Sprintf("output.std[%d]", i), "must be positive, got %v", v)
			}
		}
	case FormatPNG:
		if o.Mean != nil || o.Std != nil {
			add("output", "mean/std apply only to format %q", FormatTensor)
		}
	default:
		add("output.format", "unknown format %q (want %q or %q)", o.Format, FormatTensor, FormatPNG)
	}
	if err := p.Limits.Validate(); err != nil {
		add("limits", "%v", err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid pipeline: %w", err)
	}
	return nil
}

var stepFields = map[string][]string{
	OpResize:            {"size", "interpolation"},
	OpCenterCrop:        {"size"},
	OpGrayscale:         {"channels"},
	OpRandomCrop:        {"size", "padding"},
	OpRandomResizedCrop: {"size", "scale", "ratio", "interpolation"},
	OpHFlip:             {"p"},
	OpVFlip:             {"p"},
	OpRotate:            {"degrees"},
	OpScale:             {"scale", "interpolation"},
	OpBrightness:        {"factor"},
}

func validateStep(at string, s Step, add func(field, format string, args ...any)) {
	allowed, ok := stepFields[s.Op]
	if !ok {
		ops := make([]string, 0, len(stepFields))
		for op := range stepFields {
			ops = append(ops, op)
		}
		slices.Sort(ops)
		add(at+".op", "unknown op %q (want one of %s)", s.Op, strings.Join(ops, ", "))
		return
	}
	at = fmt.Sprintf("%s (%s)", at, s.Op)
	set := map[string]bool{
		"size": s.Size != nil, "interpolation": s.Interpolation != "", "padding": s.Padding != 0,
		"scale": s.Scale != nil, "ratio": s.Ratio != nil, "degrees": s.Degrees != nil,
		"factor": s.Factor != nil, "p": s.P != nil, "channels": s.Channels != 0,
	}
	for _, f := range []string{"size", "interpolation", "padding", "scale", "ratio", "degrees", "factor", "p", "channels"} {
		if set[f] && !slices.Contains(allowed, f) {
			add(at+"."+f, "does not apply to %s", s.Op)
		}
	}
	if slices.Contains(allowed, "size") {
		switch {
		case len(s.Size) != 1 && len(s.Size) != 2:
			add(at+".size", "want [s] or [h, w], got %d values", len(s.Size))
		default:
			for j, v := range s.Size {
				if v < 1 || v > MaxSide {
					add(fmt.Sprintf("%s.size[%d]", at, j), "must be in 1..%d, got %d", MaxSide, v)
				}
			}
		}
	}
	if s.Interpolation != "" {
		if _, ok := filters[s.Interpolation]; !ok {
			add(at+".interpolation", "unknown %q (want bilinear, bicubic, lanczos, nearest or box)", s.Interpolation)
		}
	}
	if s.Padding < 0 || s.Padding > MaxSide {
		add(at+".padding", "must be in 0..%d, got %d", MaxSide, s.Padding)
	}
	checkRange := func(field string, r []float64, lo, hi float64) {
		if r == nil {
			return
		}
		if len(r) != 2 || !finite(r[0]) || !finite(r[1]) || r[0] > r[1] || r[0] < lo || r[1] > hi {
			add(at+"."+field, "want [lo, hi] with %v <= lo <= hi <= %v, got %v", lo, hi, r)
		}
	}
	switch s.Op {
	case OpGrayscale:
		if s.Channels != 1 && s.Channels != 3 {
			add(at+".channels", "must be 1 or 3, got %d", s.Channels)
		}
	case OpRandomResizedCrop:
		checkRange("scale", s.Scale, 1e-6, 1)
		checkRange("ratio", s.Ratio, 1e-3, 1e3)
	case OpScale:
		if s.Scale == nil {
			add(at+".scale", "required, e.g. [0.9, 1.1]")
		}
		checkRange("scale", s.Scale, 0.01, 10)
	case OpRotate:
		if s.Degrees == nil {
			add(at+".degrees", "required, e.g. [-15, 15]")
		}
		checkRange("degrees", s.Degrees, -360, 360)
	case OpBrightness:
		if s.Factor == nil {
			add(at+".factor", "required, e.g. [0.8, 1.2]")
		}
		checkRange("factor", s.Factor, 0, 100)
	case OpHFlip, OpVFlip:
		if s.P != nil && (!finite(*s.P) || *s.P < 0 || *s.P > 1) {
			add(at+".p", "must be in [0, 1], got %v", *s.P)
		}
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
