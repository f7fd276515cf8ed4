package ml

import (
	"context"
	"fmt"
	"slices"
)

// Model is a trained network with everything needed to use it: what a
// model file holds and what predict and evaluate microtasks load.
type Model struct {
	// Backend names the library that trained it (informational: weights
	// follow the backend-independent Layout).
	Backend string
	// Spec is the architecture and training description.
	Spec Spec
	// Classes names the outputs, in order.
	Classes []string
	// Preprocess says how raw items become input.
	Preprocess Preprocess
	// Weights are the learned values, in Layout order.
	Weights Weights
}

// Train trains spec on data, from init or (if init is nil) from fresh
// weights drawn from spec.Seed, and returns the model. Bad input — an
// invalid spec, data of the wrong shape, labels outside the class list, a
// class with no items (unless opts.AllowMissingClasses) — fails before the
// first step.
func Train(ctx context.Context, b Backend, spec *Spec, data *Dataset, init Weights, opts TrainOptions) (*Model, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if err := checkData(spec, data); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if data.Len() == 0 {
		return nil, fmt.Errorf("train: %w: no training items", ErrData)
	}
	if !opts.AllowMissingClasses {
		if err := data.CheckAllClasses(); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	if v := opts.Validation; v != nil {
		if err := checkData(spec, v); err != nil {
			return nil, fmt.Errorf("train: validation set: %w", err)
		}
		if !slices.Equal(v.Classes, data.Classes) {
			return nil, fmt.Errorf("train: %w: validation classes %v differ from training classes %v", ErrLabels, v.Classes, data.Classes)
		}
	}
	layout, err := Layout(spec, len(data.Classes))
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if init == nil {
		if init, err = b.Init(spec, len(data.Classes)); err != nil {
			return nil, fmt.Errorf("train: init weights: %w", err)
		}
	}
	if err := init.CheckLike(layout); err != nil {
		return nil, fmt.Errorf("train: initial weights: %w", err)
	}
	w, err := b.Train(ctx, spec, data, init, opts)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	m := &Model{Backend: b.Name(), Spec: *spec.Clone(), Classes: slices.Clone(data.Classes), Weights: w}
	m.Preprocess = Preprocess{Shape: slices.Clone(spec.Input)}
	if data.Preprocess != nil {
		m.Preprocess = *data.Preprocess
	}
	return m, nil
}

func checkData(spec *Spec, d *Dataset) error {
	if d == nil {
		return fmt.Errorf("%w: no dataset", ErrData)
	}
	if !slices.Equal(d.Shape, spec.Input) {
		return fmt.Errorf("%w: items are %v, spec input is %v", ErrData, d.Shape, spec.Input)
	}
	return d.Validate()
}

// Check validates a model: spec, classes, and weights against the Layout.
func (m *Model) Check() error {
	if err := m.Spec.Validate(); err != nil {
		return err
	}
	if len(m.Classes) < 2 {
		return fmt.Errorf("%w: %d classes (want at least 2)", ErrLabels, len(m.Classes))
	}
	layout, err := Layout(&m.Spec, len(m.Classes))
	if err != nil {
		return err
	}
	return m.Weights.CheckLike(layout)
}

// Predictor returns a reusable inference network for m: a predict
// operator builds it once per worker and model, not once per microtask.
func (m *Model) Predictor(b Backend) (Predictor, error) {
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("predictor: %w", err)
	}
	p, err := b.NewPredictor(&m.Spec, len(m.Classes), m.Weights)
	if err != nil {
		return nil, fmt.Errorf("predictor: %w", err)
	}
	return p, nil
}

// Probabilities returns rows of class probabilities for the items in x
// (already preprocessed, laid out as m.Spec.Input each).
func (m *Model) Probabilities(ctx context.Context, b Backend, x []float32) ([]float32, error) {
	n := 1
	for _, d := range m.Spec.Input {
		n *= d
	}
	if len(x)%n != 0 {
		return nil, fmt.Errorf("predict: %w: %d values is not a whole number of %v items", ErrData, len(x), m.Spec.Input)
	}
	p, err := m.Predictor(b)
	if err != nil {
		return nil, fmt.Errorf("predict: %w", err)
	}
	defer p.Close()
	probs, err := p.Predict(ctx, x)
	if err != nil {
		return nil, fmt.Errorf("predict: %w", err)
	}
	return probs, nil
}

// Predict returns the predicted class and probabilities of each item in x.
func (m *Model) Predict(ctx context.Context, b Backend, x []float32) ([]Prediction, error) {
	probs, err := m.Probabilities(ctx, b, x)
	if err != nil {
		return nil, err
	}
	return Predictions(probs, m.Classes)
}

// Evaluate scores the model on a labelled dataset.
func (m *Model) Evaluate(ctx context.Context, b Backend, data *Dataset) (*Evaluation, error) {
	if err := checkData(&m.Spec, data); err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	if !slices.Equal(data.Classes, m.Classes) {
		return nil, fmt.Errorf("evaluate: %w: data classes %v differ from the model's %v", ErrLabels, data.Classes, m.Classes)
	}
	probs, err := m.Probabilities(ctx, b, data.X)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	return Evaluate(probs, data.Y, m.Classes)
}
