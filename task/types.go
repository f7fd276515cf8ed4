package task

import (
	"encoding/json"
	"time"
)

// Item is one unit of data flowing through a job: an input record, or one
// output of a microtask. IDs are kept from input to result; an operator
// that fans out (e.g. augmentation) derives new ids from the input's.
type Item struct {
	ID   string          `json:"id"`
	Data json.RawMessage `json:"data"`
	// Dropped, set by an operator on an output item, removes the item
	// from the job with this reason (e.g. "duplicate of cat/3.png"): it
	// goes no further and appears in the job's report of dropped items,
	// not in its results.
	Dropped string `json:"dropped,omitempty"`
}

// StageKind says how a stage consumes its inputs.
type StageKind string

const (
	// Map stages run one microtask per chunk of up to Batch items, as soon
	// as those items are ready.
	Map StageKind = "map"
	// Reduce stages run one microtask over all results of their inputs,
	// once those are complete.
	Reduce StageKind = "reduce"
)

// InputStage is the name by which stages refer to the job's input items.
const InputStage = "input"

// Stage is one operator applied to items, resolved and validated.
type Stage struct {
	Name    string            `json:"name"`
	Op      string            `json:"op"`
	Kind    StageKind         `json:"kind"`
	Params  json.RawMessage   `json:"params,omitempty"`
	Batch   int               `json:"batch"`
	Retries int               `json:"retries"`
	Timeout Duration          `json:"timeout"`
	Backoff Duration          `json:"backoff"`
	Labels  map[string]string `json:"labels,omitempty"`
	// After names the stages (or InputStage) whose outputs feed this one.
	After []string `json:"after"`
	// NoSpeculate turns off speculative copies of straggling microtasks
	// of this stage.
	NoSpeculate bool `json:"no_speculate,omitempty"`
}

// Job is a submitted job.
type Job struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	State      JobState   `json:"state"`
	Priority   int        `json:"priority"`
	Weight     float64    `json:"weight"`
	Owner      string     `json:"owner,omitempty"`
	Items      int64      `json:"items"`
	Stages     []Stage    `json:"stages"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// Microtask is one operator call on one item or a small chunk of items.
type Microtask struct {
	ID         int64      `json:"id"`
	JobID      string     `json:"job"`
	Stage      int        `json:"stage"`
	State      State      `json:"state"`
	Attempts   int        `json:"attempts"`
	Token      int64      `json:"token"`
	Worker     string     `json:"worker,omitempty"`
	Items      int        `json:"items"`
	Error      string     `json:"error,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// Lease is a microtask handed to one worker for a bounded time. Token is
// the fencing token: a completion must carry it, and one carrying an older
// token than the microtask's current lease is refused.
type Lease struct {
	TaskID  int64  `json:"task"`
	Token   int64  `json:"token"`
	JobID   string `json:"job"`
	Stage   int    `json:"stage"`
	Attempt int    `json:"attempt"`
	Items   []Item `json:"items"`
}

// Worker is a process that offers slots to run microtasks.
type Worker struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Slots   int               `json:"slots"`
	Running int               `json:"running"`
	Labels  map[string]string `json:"labels,omitempty"`
	Ops     []string          `json:"ops"`
	// Load is the host's 1-minute load average divided by its CPU count.
	Load     float64   `json:"load"`
	CPUs     int       `json:"cpus"`
	Version  string    `json:"version,omitempty"`
	State    string    `json:"state"` // alive, draining, lost
	LastSeen time.Time `json:"last_seen"`
	Done     int64     `json:"done"`
	Failures int64     `json:"failures"`
	// Cache is the worker's blob cache, if it has one.
	Cache *CacheInfo `json:"cache,omitempty"`
}

// CacheInfo describes a worker's blob cache: what it holds and how many
// bytes it has moved (fetched from the coordinator versus served locally).
type CacheInfo struct {
	Blobs         int   `json:"blobs"`
	Bytes         int64 `json:"bytes"`
	BytesFetched  int64 `json:"bytes_fetched"`
	BytesServed   int64 `json:"bytes_served"`
	BytesUploaded int64 `json:"bytes_uploaded"`
}

// Worker states.
const (
	WorkerAlive    = "alive"
	WorkerDraining = "draining"
	WorkerLost     = "lost"
)
