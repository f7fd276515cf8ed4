package ml

import "errors"

// Errors returned (wrapped) by this package and its backends; test with
// errors.Is.
var (
	// ErrInvalidSpec: the network or training description is impossible
	// (bad field, unknown layer, shapes that do not fit).
	ErrInvalidSpec = errors.New("ml: invalid spec")
	// ErrLabels: a label is missing, outside the class list, or a class
	// has no training items.
	ErrLabels = errors.New("ml: bad labels")
	// ErrData: the items do not match the spec's input shape or hold
	// NaN/Inf values.
	ErrData = errors.New("ml: bad data")
	// ErrNaNLoss: training diverged; the error names the step.
	ErrNaNLoss = errors.New("ml: loss is not a number")
	// ErrWeights: weights do not match the network (names, shapes) or
	// cannot be merged.
	ErrWeights = errors.New("ml: weights do not fit")
	// ErrModelFile: a model file is malformed or of an unknown version.
	ErrModelFile = errors.New("ml: bad model file")
)
