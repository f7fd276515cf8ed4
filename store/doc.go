// Package store defines where myriad keeps its state. The store is the
// truth: jobs, stages, microtasks, leases, results and workers all live
// here, and the coordinator's in-memory queues and counters are caches it
// rebuilds from the store at start-up. That is what makes a SIGKILL of the
// coordinator harmless and lets several coordinators share one database.
//
// Drivers implement Store (store/sqlite is the embedded default; a
// PostgreSQL driver implements the same interface). Every driver must pass
// the conformance suite in store/storetest.
//
// Writes happen inside InTx so that the coordinator can group many
// workers' claims and completions into one transaction (group commit):
// the per-microtask cost is then a few row writes, not a commit.
package store
