// Package mlops wires the model layer (package ml) into the engine as
// operators: train, evaluate, predict, crossval and search, and
// data-parallel training rounds (train with shards > 1).
//
// train, evaluate and predict are plain map operators. crossval, search
// and sharded train stand for a fixed sub-DAG and are unrolled at submit
// (spec.Expander, coord.OpInfo.Expand) into ordinary stages:
//
//	crossval  NAME.folds (map: an item → k fold items)
//	          NAME.fold  (map, one microtask per fold: train, validate)
//	          NAME       (reduce: mean ± std per item)
//
//	search    NAME.trials (map: an item → trials × folds items)
//	          NAME.trial  (map, one microtask per trial and fold)
//	          NAME.pick   (reduce: best trial by mean validation accuracy)
//	          NAME        (train: the winner retrained on all the data)
//
//	train with shards: S, rounds: R
//	          NAME.shards  (map: an item → S shard items)
//	          NAME.round1  (map, one microtask per shard from the global weights)
//	          NAME.merge1  (reduce: average weighted by shard size → S items)
//	          ...
//	          NAME.roundR, NAME (the last merge: the model)
//
// Every operator reads its training data from params.data (a dataset by
// name: mnist or fashion-mnist, split and limit; or a packed dataset
// blob) or, when params give none, from the input item's dataset field
// (what the image pipeline's pack operator emits). Models, weights and
// checkpoints are blobs; items carry their refs. Loss and accuracy per
// epoch, fold and round are reported as job metrics.
package mlops
