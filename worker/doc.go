// Package worker is myriad's worker runtime and Go SDK for operators.
//
// A worker offers slots to a coordinator, leases microtasks for the
// operators it has handlers for, runs them, and reports results — all
// through one batched round trip of the worker protocol (api.SyncRequest)
// that also carries its heartbeat. Users register their own handlers in
// their own binary:
//
//	w, _ := worker.New(worker.Config{Server: "http://coordinator:7070", Slots: 8})
//	w.HandleItems("upper", func(ctx context.Context, t *worker.Task, it task.Item) (any, error) {
//		var s string
//		if err := json.Unmarshal(it.Data, &s); err != nil {
//			return nil, worker.Permanent(err) // bad input: do not retry
//		}
//		return strings.ToUpper(s), nil
//	})
//	w.Run(ctx) // until ctx ends, then drains
//
// A result is kept until the coordinator acknowledges it, so a
// coordinator restart loses nothing; a worker never runs more microtasks
// than its slots.
package worker
