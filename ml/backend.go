package ml

import (
	"context"
	"time"
)

// Backend is a deep-learning library behind our own types, so it can be
// swapped without touching the engine's operators. Implementations must
// be deterministic: the same spec, data, initial weights and options give
// the same weights, bit for bit.
type Backend interface {
	// Name identifies the backend in model files ("gorgonia").
	Name() string
	// Init returns fresh weights for spec and numClasses, drawn from
	// spec.Seed. Errors: ErrInvalidSpec.
	Init(spec *Spec, numClasses int) (Weights, error)
	// Train runs spec.Epochs epochs of minibatch training over data,
	// starting from init, and returns the trained weights. data has been
	// validated by the caller. It stops with ctx.Err() when ctx ends,
	// with ErrNaNLoss at the step whose loss is NaN or infinite, and with
	// ErrWeights when init does not fit the network.
	Train(ctx context.Context, spec *Spec, data *Dataset, init Weights, opts TrainOptions) (Weights, error)
	// NewPredictor returns an inference network holding a copy of w.
	NewPredictor(spec *Spec, numClasses int, w Weights) (Predictor, error)
}

// Predictor computes class probabilities. It is not safe for concurrent
// use; create one per goroutine.
type Predictor interface {
	// Predict returns len(x)/itemSize rows of numClasses probabilities
	// (row-major) for the items in x. Each row sums to 1.
	Predict(ctx context.Context, x []float32) ([]float32, error)
	// Close releases the network.
	Close() error
}

// TrainOptions tunes a training run without changing what is trained.
type TrainOptions struct {
	// Progress, if set, is called after every ReportEvery batches and at
	// the end of every epoch, from the training goroutine. The engine
	// stores these as the job's training curves.
	Progress func(Progress)
	// ReportEvery is the batch interval of Progress reports within an
	// epoch (0: epoch ends only).
	ReportEvery int
	// Stream separates the random streams (shuffle order, dropout masks)
	// of trainings that share spec.Seed, e.g. shard s of data-parallel
	// round r uses a stream derived from (r, s). Weight initialisation
	// depends on spec.Seed only.
	Stream uint64
	// Parallelism is how many goroutines split each batch (default
	// GOMAXPROCS). Results are bit-identical for the same value; a
	// different value changes the order in which per-item gradients are
	// summed and so the last bits of the weights.
	Parallelism int
	// Validation, if set, is evaluated at the end of every epoch and
	// reported in Progress.ValLoss / ValAccuracy.
	Validation *Dataset
	// AllowMissingClasses lets a training set lack some classes (a small
	// data-parallel shard); by default that is an ErrLabels error.
	AllowMissingClasses bool
}

// Progress is one point of a training curve.
type Progress struct {
	// Epoch counts from 1; Batch counts from 1 within the epoch.
	Epoch, Batch, Batches int
	// Step counts optimiser steps from 1 across epochs.
	Step int
	// EpochEnd marks the report made once per epoch.
	EpochEnd bool
	// Loss and Accuracy are the mean training loss and accuracy over the
	// batches since the previous report (the whole epoch at EpochEnd).
	Loss, Accuracy float64
	// Items is the number of training items those means cover.
	Items int
	// ValLoss and ValAccuracy are set at EpochEnd when
	// TrainOptions.Validation is set (else -1).
	ValLoss, ValAccuracy float64
	// Elapsed is the time since training started.
	Elapsed time.Duration
}
