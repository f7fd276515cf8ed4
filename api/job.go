package api

import (
	"encoding/json"
	"time"

	"github.com/myriadhq/myriad/task"
)

// SubmitResponse answers POST /v1/jobs.
type SubmitResponse struct {
	ID    string `json:"id"`
	Items int64  `json:"items"`
	Tasks int64  `json:"microtasks"`
}

// JobStatus is a job's progress, answered by GET /v1/jobs/{id}.
type JobStatus struct {
	ID         string        `json:"id"`
	Name       string        `json:"name"`
	State      task.JobState `json:"state"`
	Priority   int           `json:"priority"`
	Weight     float64       `json:"weight"`
	Owner      string        `json:"owner,omitempty"` // the id of the API token that submitted it
	Items      int64         `json:"items"`
	CreatedAt  time.Time     `json:"created_at"`
	FinishedAt *time.Time    `json:"finished_at,omitempty"`
	// Counts sums the microtasks of all stages.
	Counts  task.Counts   `json:"counts"`
	Stages  []StageStatus `json:"stages"`
	ETA     *ETA          `json:"eta,omitempty"`
	Errors  []TaskError   `json:"errors,omitempty"`
	Rate    float64       `json:"rate"` // microtasks per second, recent
	Elapsed float64       `json:"elapsed_s"`
	// Human is the progress and budget of the job's human stages.
	Human []HumanStageStatus `json:"human,omitempty"`
}

// StageStatus is one stage's progress.
type StageStatus struct {
	Name   string          `json:"name"`
	Op     string          `json:"op"`
	Kind   task.StageKind  `json:"kind"`
	After  []string        `json:"after"`
	State  task.StageState `json:"state"`
	Counts task.Counts     `json:"counts"`
	// Expected estimates the stage's total microtasks (known once its
	// inputs are done).
	Expected int64 `json:"expected"`
	// MeanMS is the mean time of a microtask of this stage, from lease
	// to commit, as the coordinator saw it.
	MeanMS float64 `json:"mean_ms"`
}

// ETA is the source's timing model T = max(tmax, Σtᵢ / (M·c)) applied to
// the remaining work.
type ETA struct {
	// RemainingS is the estimate of the time left, in seconds.
	RemainingS float64 `json:"remaining_s"`
	// WorkS is Σtᵢ over the remaining microtasks, in slot-seconds.
	WorkS float64 `json:"work_s"`
	// Capacity is M·c: live slots able to run the remaining work.
	Capacity int `json:"capacity"`
	// Known is false while no microtask of some remaining stage has
	// finished, so tᵢ is still a guess.
	Known bool `json:"known"`
}

// TaskError is a dead microtask and why.
type TaskError struct {
	Task     int64    `json:"task"`
	Stage    string   `json:"stage"`
	Attempts int      `json:"attempts"`
	Error    string   `json:"error"`
	Items    []string `json:"items,omitempty"`
}

// ResultLine is one line of GET /v1/jobs/{id}/results (JSON Lines): the
// outcome for one item of a final stage.
type ResultLine struct {
	ID    string          `json:"id"`
	Stage string          `json:"stage"`
	Data  json.RawMessage `json:"data,omitempty"`
	Error string          `json:"error,omitempty"`
	// Dropped is why an operator dropped the item (only in the report of
	// dropped items, ?dropped=true).
	Dropped string `json:"dropped,omitempty"`
}

// Error is the body of every non-2xx answer.
type Error struct {
	Error string `json:"error"`
	// Details lists individual problems, e.g. each bad field of a spec.
	Details []string `json:"details,omitempty"`
}

// Op is an operator jobs may use, answered by GET /v1/ops.
type Op struct {
	Name string `json:"name"`
	// Reduce: a stage using it is a reduce stage unless it says kind.
	Reduce bool `json:"reduce,omitempty"`
}
