// Package ml is myriad's model layer: a CNN described as data (Spec),
// datasets and weights as plain values, and a small Backend interface
// behind which a real deep-learning library does the arithmetic
// (ml/gorgonia). The engine's operators are thin wrappers over it:
//
//	train     Train(ctx, backend, spec, data, init, opts) -> *Model
//	evaluate  model.Evaluate(ctx, backend, data)          -> *Evaluation
//	predict   model.Predict(ctx, backend, x)              -> []Prediction
//	crossval  ml/tune.KFold + Dataset.Subset + Train + Evaluate, then tune.Summarize
//	search    ml/tune.Grid/Random -> Spec.WithParams -> crossval -> tune.Best
//	round     Train from the global weights on each shard, then AverageWeights
//
// Everything is deterministic given the spec's seed (and
// TrainOptions.Stream and Parallelism), so a retried microtask recomputes
// the same result. Weights are a flat list of named tensors in the repo's
// tensor format, so checkpoints are blobs and a data-parallel merge is a
// weighted average of plain arrays. Models are written as versioned,
// self-describing files (WriteModel / ReadModel).
package ml
