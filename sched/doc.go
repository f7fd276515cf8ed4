// Package sched decides which microtasks a worker gets. It is a pure
// function from a snapshot of the queues and of the workers to a plan, so
// fairness, capacity and load handling are tested deterministically and
// benchmarked alone; the coordinator then claims what the plan says from
// the store.
//
//	queues (ready per job/stage) ──► feasible? ──► worker's grant size ──► share by weight ──► plan
//	                                 op + labels    free slots × load       water-filling,
//	                                                scarce work split       then priority,
//	                                                across idle workers     then age
//
// Feasibility: the worker runs the stage's operator and has every label
// the stage asks for. Grant size: never more than the worker's free slots,
// fewer when its host is overloaded, and only its proportional part when
// there is less ready work than free capacity across live workers, so an
// idle worker is not starved by a greedy one. Sharing: among jobs, the
// grant goes slot by slot to the job with the least running work per unit
// of weight (a small job is not starved behind a huge one), ties broken by
// priority (higher first) and then age (older first). Within a job, later
// stages go first so items finish rather than pile up between stages.
package sched
