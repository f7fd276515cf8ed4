// Package gorgonia is the ml.Backend built on gorgonia.org/gorgonia, a
// pure-Go automatic-differentiation library: each network is a gorgonia
// expression graph (im2col convolution, max-pool, dense, log-softmax and
// a negative log-likelihood loss) compiled once per training run and
// executed by a tape machine for every batch.
//
// What is ours rather than gorgonia's, and why:
//
//   - Batch parallelism. A tape machine runs its graph on one goroutine
//     and only matrix products use more cores, so each batch is split
//     across Parallelism graph replicas run concurrently; their gradients
//     are summed in a fixed order, keeping results deterministic.
//   - Dropout masks. gorgonia's Dropout seeds itself from the clock; we
//     draw masks from the spec's seed and feed them as inputs.
//   - Optimisers. gorgonia's Momentum solver applies L2 decay to the
//     velocity instead of the weights, and its solvers allocate each
//     step; ours follow PyTorch's SGD and Adam exactly.
//   - Initialisation: PyTorch's default (uniform in ±1/sqrt(fan-in)),
//     drawn from the spec's seed.
//   - The last, partial batch is padded: padded rows carry an all-zero
//     target row, so they add nothing to the loss or the gradients, and
//     targets are scaled by 1/n so the loss is the mean over real rows.
package gorgonia
