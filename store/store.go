package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/myriadhq/myriad/task"
)

var (
	// ErrNotFound: the job (or other record) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the record exists already.
	ErrConflict = errors.New("already exists")
)

// Store is a durable home for myriad's state. Reads may run concurrently
// with each other and with one write transaction.
type Store interface {
	// InTx runs fn in one write transaction. If fn returns an error
	// nothing it wrote is kept. fn must not retain tx.
	InTx(ctx context.Context, fn func(tx Tx) error) error

	// JobGet returns the job, or ErrNotFound.
	JobGet(ctx context.Context, id string) (*task.Job, error)
	// JobList lists jobs, newest first.
	JobList(ctx context.Context, p *JobListParams) ([]*task.Job, error)
	// StageStates returns the state of each of the job's stages, by index.
	StageStates(ctx context.Context, jobID string) ([]task.StageState, error)
	// TaskCounts returns microtask counts by state for each stage of the
	// job, by stage index. Pending counts items buffered for a stage that
	// are not yet in a microtask.
	TaskCounts(ctx context.Context, jobID string) ([]task.Counts, error)
	// TaskList lists microtasks of a job, e.g. the dead ones with errors.
	TaskList(ctx context.Context, p *TaskListParams) ([]*task.Microtask, error)
	// TaskRunning lists every microtask in state Running, with its holder
	// and token, so a restarted coordinator can rebuild its leases.
	TaskRunning(ctx context.Context) ([]*RunningTask, error)
	// TaskFailedDue returns the earliest retry time among Failed
	// microtasks, or the zero time if there are none.
	TaskFailedDue(ctx context.Context) (time.Time, error)
	// Results streams the outcome of each item of the given stages: the
	// output items of done microtasks and the input items of dead ones,
	// in microtask order. fn returning an error stops the stream.
	Results(ctx context.Context, p *ResultsParams, fn func(*Result) error) error
	// WorkerList lists the workers ever seen.
	WorkerList(ctx context.Context) ([]*task.Worker, error)
	// MetricList returns a job's metric points in the order they were
	// added (none, not ErrNotFound, for an unknown job).
	MetricList(ctx context.Context, jobID string) ([]task.MetricPoint, error)
	// TokenStore keeps API tokens (issue 9).
	TokenStore
	// Ping checks the store can serve requests.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// Tx is a write transaction. Its methods are only valid inside InTx.
type Tx interface {
	// JobInsert stores a new job and its stages (all StageRunning except
	// those listed in waiting). ErrConflict if the id is taken.
	JobInsert(ctx context.Context, job *task.Job, waiting []int) error
	// JobSetState records a job's new state.
	JobSetState(ctx context.Context, id string, state task.JobState, at time.Time) error
	// StageSetState records a stage's new state.
	StageSetState(ctx context.Context, jobID string, stage int, state task.StageState) error

	// TaskInsert creates microtasks, one per element of Inputs, and sets
	// p.IDs to their ids in order.
	TaskInsert(ctx context.Context, p *TaskInsertParams) error
	// TaskClaim leases up to Limit ready microtasks of one stage to a
	// worker, issuing each a new fencing token: first those of Prefer that
	// are still ready, then the oldest.
	TaskClaim(ctx context.Context, p *TaskClaimParams) ([]*Claimed, error)
	// TaskFinish ends the attempt that holds Token: it commits a result
	// (State Done), schedules a retry (Failed), gives up (Dead) or puts the
	// microtask back in the queue (Ready). It reports false, changing
	// nothing, if the microtask is not Running or Token is no longer valid
	// (the fencing check, made in the same transaction as the write).
	TaskFinish(ctx context.Context, p *TaskFinishParams) (bool, error)
	// TaskWake moves Failed microtasks whose retry time has come to Ready
	// and reports how many moved, per job and stage, and the retry time of
	// the next Failed microtask (zero if none).
	TaskWake(ctx context.Context, now time.Time) ([]StageCount, time.Time, error)
	// TaskCancel moves every open microtask of a job to Canceled and
	// reports how many moved from each state, per stage.
	TaskCancel(ctx context.Context, jobID string, now time.Time) ([]StateCount, error)
	// TaskRevive moves the dead microtasks of a job back to Ready with a
	// fresh attempt budget and reports how many moved, per stage.
	TaskRevive(ctx context.Context, jobID string) ([]StageCount, error)
	// TaskOutputs returns the output items of the done microtasks of the
	// given stages (the input of a reduce stage).
	TaskOutputs(ctx context.Context, jobID string, stages []int) ([]task.Item, error)

	// PendingAdd buffers items for a stage until there are enough for a
	// microtask.
	PendingAdd(ctx context.Context, jobID string, stage int, items []task.Item) error
	// PendingTake removes and returns up to n buffered items, oldest first.
	PendingTake(ctx context.Context, jobID string, stage, n int) ([]task.Item, error)

	// MetricAdd appends points to a job's metrics (training curves).
	MetricAdd(ctx context.Context, jobID string, points []task.MetricPoint) error

	// WorkerUpsert stores a worker's latest description.
	WorkerUpsert(ctx context.Context, w *task.Worker) error

	// Shared-store methods: what several coordinators on one store need
	// to decide from the store rather than from their own caches (see
	// docs/deploy.md). A single coordinator may use them too.

	// TaskLeases returns those of the given microtasks that are Running,
	// with holder and token, so any coordinator can check a report
	// against a lease another one granted.
	TaskLeases(ctx context.Context, ids []int64) ([]*RunningTask, error)
	// StageLock locks one stage of a job until the transaction ends (other
	// coordinators' StageLock on it wait) and returns its state and its
	// microtask counts (Pending counts buffered items) as the store has
	// them now. ErrNotFound if there is no such stage.
	StageLock(ctx context.Context, jobID string, stage int) (task.StageState, task.Counts, error)
	// JobFinish moves a running job to a final state and reports whether
	// it did; false, changing nothing, if the job had already ended (say,
	// another coordinator closed or canceled it first).
	JobFinish(ctx context.Context, id string, state task.JobState, at time.Time) (bool, error)

	// Speculative execution: a running microtask may have one more
	// attempt, a copy on another worker, alongside its first; either
	// attempt's completion commits it (TaskFinish accepts both tokens)
	// and then refuses the other's.

	// TaskSpeculate leases a running microtask to a second worker with a
	// new token, keeping the first attempt valid. It returns nil,
	// changing nothing, if the microtask is not running, already has a
	// copy, or is held by that same worker.
	TaskSpeculate(ctx context.Context, p *TaskSpeculateParams) (*Claimed, error)
	// TaskDropAttempt ends one of the two attempts of a speculated
	// microtask, leaving the other running and the only valid one: the
	// copy's end just removes it; the first attempt's end makes the copy
	// the microtask's lease (its worker the holder). It reports false,
	// changing nothing, if the microtask is not running with a copy or
	// Token is neither attempt's.
	TaskDropAttempt(ctx context.Context, id, token int64) (bool, error)
}

// TaskSpeculateParams asks for a speculative copy of a running microtask.
type TaskSpeculateParams struct {
	ID     int64
	Worker string // must differ from the holder
	Now    time.Time
}

// Cluster is implemented by stores that several coordinators may share at
// once (PostgreSQL). Duties that must run once — lease-expiry sweeps,
// retry wake-ups, speculation — run on the one coordinator that leads.
// Leading is an economy, not what makes results exactly-once: that is
// the fencing check in TaskFinish, so two leaders for a moment are
// harmless.
type Cluster interface {
	// TryLead reports whether this store handle holds the leadership,
	// taking it if it is free. The leadership is lost when the handle is
	// closed or its process dies; another handle's TryLead then gets it.
	TryLead(ctx context.Context) (bool, error)
}

// JobListParams filters JobList.
type JobListParams struct {
	State task.JobState // "" for all
	Limit int           // 0 for all
	// Active lists only jobs that are not final (what a coordinator
	// loads at start-up).
	Active bool
	// Owner, if set, lists only the jobs submitted by this owner.
	Owner string
}

// TaskListParams filters TaskList.
type TaskListParams struct {
	JobID string
	State *task.State // nil for all
	Stage *int
	Limit int
}

// TaskInsertParams creates microtasks of one stage.
type TaskInsertParams struct {
	JobID string
	Stage int
	Now   time.Time
	// Inputs holds each microtask's items; a nil element means the
	// microtask reads its inputs when claimed (a reduce stage).
	Inputs [][]task.Item
	// IDs is set by TaskInsert: the new microtasks' ids, in order.
	IDs []int64
}

// TaskClaimParams asks for microtasks of one stage.
type TaskClaimParams struct {
	JobID  string
	Stage  int
	Worker string
	Limit  int
	Now    time.Time
	// Prefer lists microtasks to claim first if they are still ready
	// (e.g. those whose inputs the worker already holds); ids of other
	// stages or states are ignored.
	Prefer []int64
	// Skip lists microtasks not to claim even if ready (e.g. those that
	// failed on this worker before, to be retried on another).
	Skip []int64
}

// Claimed is one microtask leased by TaskClaim.
type Claimed struct {
	ID      int64
	Token   int64
	Attempt int
	// Items is nil for a microtask that reads its inputs when claimed.
	Items []task.Item
}

// TaskFinishParams ends one attempt. See Tx.TaskFinish.
type TaskFinishParams struct {
	ID    int64
	Token int64
	State task.State // Done, Failed, Dead or Ready
	// Output is the result's items (State Done).
	Output    []task.Item
	Error     string
	NotBefore time.Time // State Failed: when to retry
	Runtime   time.Duration
	Now       time.Time
	// Refund gives back the attempt (State Ready after a hand-back, not a
	// failure) so it does not count against the retries.
	Refund bool
}

// RunningTask is a microtask in state Running.
type RunningTask struct {
	ID        int64
	JobID     string
	Stage     int
	Token     int64
	Attempt   int
	Worker    string
	StartedAt time.Time
	// SpecWorker and SpecToken name the speculative copy's holder and
	// token, if the microtask has one (see Tx.TaskSpeculate); Token is
	// then the first attempt's.
	SpecWorker string
	SpecToken  int64
}

// StageCount is a number of microtasks of one stage.
type StageCount struct {
	JobID string
	Stage int
	N     int64
}

// StateCount is a number of microtasks of one stage that were in State.
type StateCount struct {
	Stage int
	State task.State
	N     int64
}

// ResultsParams selects results.
type ResultsParams struct {
	JobID  string
	Stages []int
}

// Result is the outcome for one item.
type Result struct {
	Stage  int
	TaskID int64
	ID     string
	Data   json.RawMessage // output data, for a done microtask
	Error  string          // for a dead microtask
	// Dropped is the reason an operator gave for dropping this output
	// item (see task.Item.Dropped).
	Dropped string
}

// TxFinisher is implemented by transactions that can commit many results
// in one statement (PostgreSQL, where each statement is a network round
// trip). TaskFinishDone is TaskFinish with State Done for each element,
// reporting each one's outcome; ids must be distinct.
type TxFinisher interface {
	TaskFinishDone(ctx context.Context, ps []*TaskFinishParams) ([]bool, error)
}
