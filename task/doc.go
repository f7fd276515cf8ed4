// Package task holds myriad's leaf types: jobs, stages, microtasks, leases,
// workers and their states. It imports nothing of ours so that the store,
// the scheduler, the coordinator, the HTTP API and the SDKs can all share
// one vocabulary (see PRODUCT.md).
package task
