// Package tune holds the pure functions behind cross-validation and
// hyper-parameter search, each small enough for the engine to turn into
// microtasks: stratified k-fold splits (KFold) and data-parallel shards
// (Shards), score summaries (Summarize), search spaces expanded into
// trials (Grid, Random), and the choice of the best trial (Best).
// Everything is deterministic given its seed.
package tune
