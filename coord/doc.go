// Package coord is the coordinator: it turns jobs into microtasks, leases
// them to workers by capacity and load, commits results exactly once, moves
// items through the stage DAG, expires leases and retries failures.
//
// The store is the truth. The coordinator keeps caches in memory (counts
// per stage, the leases now held, the workers seen) and rebuilds them from
// the store when it starts, so it can be killed at any moment.
//
// All writes go through one goroutine (the writer) that groups the work
// of many concurrent requests into one store transaction: a worker's
// round trip that completes 500 microtasks and leases 500 more costs a
// share of one commit, not 1 000 commits. A reply is sent only after the
// transaction that holds its effects has committed.
package coord
