package api

import (
	"encoding/json"

	"github.com/myriadhq/myriad/task"
)

// SyncRequest is the worker protocol's one round trip: it registers (or
// refreshes) the worker, heartbeats its running microtasks, reports
// completions and failures, hands back work, and asks for up to Want new
// microtasks, all at once.
type SyncRequest struct {
	Worker WorkerInfo `json:"worker"`
	// Seq increases with every request of one worker process. A lease
	// granted in answer to an earlier request that the worker neither
	// lists in Running nor reports is taken as lost in transit and goes
	// back to the queue.
	Seq  uint64 `json:"seq"`
	Want int    `json:"want"`
	// WaitMS lets the coordinator hold the request up to this long when
	// no work is ready (long poll), answering as soon as some is.
	WaitMS   int          `json:"wait_ms,omitempty"`
	Running  []TaskRef    `json:"running,omitempty"`
	Done     []Completion `json:"done,omitempty"`
	Failed   []Failure    `json:"failed,omitempty"`
	Released []TaskRef    `json:"released,omitempty"`
	// Progress carries the training-curve points of running microtasks
	// that recorded new ones since the last request.
	Progress []TaskProgress `json:"progress,omitempty"`
	// Draining says the worker takes no new work and is finishing up.
	Draining bool `json:"draining,omitempty"`
}

// TaskProgress is what one running lease has recorded so far: every point,
// not only the new ones, so a lost request loses nothing. The coordinator
// shows them live (GET /v1/jobs/{id}/metrics) and forgets them when the
// attempt ends; only a completion's points are stored, so a failed or
// retried attempt leaves no curve behind.
type TaskProgress struct {
	Task    int64         `json:"task"`
	Token   int64         `json:"token"`
	Metrics []MetricPoint `json:"metrics"`
}

// WorkerInfo describes a worker process.
type WorkerInfo struct {
	// ID is unique per worker process (e.g. host name plus a random
	// suffix); Name is what people read.
	ID    string `json:"id"`
	Name  string `json:"name"`
	Slots int    `json:"slots"`
	// Prefetch is how many leases the worker may hold beyond its slots,
	// queued on the worker until a slot frees, so that quick microtasks
	// do not wait a round trip between one and the next. 0: none.
	Prefetch int               `json:"prefetch,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Ops      []string          `json:"ops"`
	// Load is the host's 1-minute load average divided by CPUs.
	Load    float64 `json:"load"`
	CPUs    int     `json:"cpus"`
	Version string  `json:"version,omitempty"`
	// Cache reports the worker's blob cache.
	Cache *task.CacheInfo `json:"cache,omitempty"`
}

// TaskRef names one lease of a microtask.
type TaskRef struct {
	Task  int64 `json:"task"`
	Token int64 `json:"token"`
}

// Completion reports a microtask done, with its output items.
type Completion struct {
	Task      int64       `json:"task"`
	Token     int64       `json:"token"`
	Output    []task.Item `json:"output"`
	RuntimeMS int64       `json:"ms"`
	// StartedUS is when the handler started, by the worker's clock, in
	// microseconds since the Unix epoch; the coordinator derives the
	// ready-to-start latency from it. Zero if unknown.
	StartedUS int64 `json:"started_us,omitempty"`
	// Metrics are training-curve points the operator reported; the
	// coordinator stores them with the completion (Stage is filled in
	// from the microtask's stage).
	Metrics []MetricPoint `json:"metrics,omitempty"`
}

// MetricPoint is one point of a job's metrics, as reported and as served
// by GET /v1/jobs/{id}/metrics.
type MetricPoint = task.MetricPoint

// Metrics is the body of GET /v1/jobs/{id}/metrics: every point, in the
// order the completions carrying them were committed.
type Metrics struct {
	Points []MetricPoint `json:"points"`
}

// Failure kinds.
const (
	FailError   = "error"   // the handler returned an error
	FailTimeout = "timeout" // the stage's timeout passed
	FailCrash   = "crash"   // the handler panicked or its process died
	FailExit    = "exit"    // an exec command exited non-zero
)

// Failure reports a failed attempt.
type Failure struct {
	Task      int64  `json:"task"`
	Token     int64  `json:"token"`
	Kind      string `json:"kind"`
	Error     string `json:"error"`
	RuntimeMS int64  `json:"ms"`
	// Permanent asks not to retry: the input itself is bad.
	Permanent bool `json:"permanent,omitempty"`
}

// SyncResponse answers a SyncRequest.
type SyncResponse struct {
	Leases []Lease `json:"leases"`
	// Accepted lists the microtasks whose reports were committed;
	// Refused those whose report was refused (e.g. a stale token).
	Accepted []int64   `json:"accepted,omitempty"`
	Refused  []Refusal `json:"refused,omitempty"`
	// Cancel lists running microtasks the worker should stop: their job
	// was canceled, or another attempt already committed.
	Cancel      []TaskRef `json:"cancel,omitempty"`
	LeaseTTLMS  int64     `json:"lease_ttl_ms"`
	HeartbeatMS int64     `json:"heartbeat_ms"`
}

// Refusal explains why a report was not committed.
type Refusal struct {
	Task   int64  `json:"task"`
	Reason string `json:"reason"`
}

// Lease is one microtask handed to a worker.
type Lease struct {
	Task      int64           `json:"task"`
	Token     int64           `json:"token"`
	Job       string          `json:"job"`
	Stage     string          `json:"stage"`
	Op        string          `json:"op"`
	Params    json.RawMessage `json:"params,omitempty"`
	Items     []task.Item     `json:"items"`
	Attempt   int             `json:"attempt"`
	TimeoutMS int64           `json:"timeout_ms"`
}
