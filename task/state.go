package task

import (
	"encoding/json"
	"fmt"
)

// State is the state of one microtask.
//
//	pending ──► ready ──► running ──► done
//	              ▲          │
//	              │          ├──► failed ──(backoff)──► ready
//	              │          └──► dead (last attempt failed)
//	              └── lease expired / handed back
//
// canceled is reached from any non-final state when the job is canceled.
// The numeric values are stored; never renumber them.
type State uint8

const (
	Pending  State = 0 // created, waiting for something (reserved)
	Ready    State = 1 // queued, may be leased
	Running  State = 2 // leased to a worker
	Done     State = 3 // result committed
	Failed   State = 4 // last attempt failed; waits for its retry time
	Dead     State = 5 // failed on its last attempt; error kept
	Canceled State = 6 // its job was canceled
)

var stateNames = [...]string{"pending", "ready", "running", "done", "failed", "dead", "canceled"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Final reports whether no further transition can happen.
func (s State) Final() bool { return s == Done || s == Dead || s == Canceled }

// ParseState parses a state name.
func ParseState(name string) (State, error) {
	for i, n := range stateNames {
		if n == name {
			return State(i), nil
		}
	}
	return 0, fmt.Errorf("unknown microtask state %q", name)
}

func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *State) UnmarshalText(b []byte) error {
	v, err := ParseState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// JobState is the state of a job.
type JobState string

const (
	JobRunning             JobState = "running"
	JobCompleted           JobState = "completed"
	JobCompletedWithErrors JobState = "completed_with_errors"
	JobCanceled            JobState = "canceled"
)

// Final reports whether the job has ended.
func (s JobState) Final() bool { return s != JobRunning && s != "" }

// StageState is the state of one stage of a job.
type StageState string

const (
	StageWaiting StageState = "waiting" // a reduce stage whose inputs are not all done
	StageRunning StageState = "running"
	StageDone    StageState = "done"
)

// Counts tallies microtasks by state.
type Counts struct {
	Pending  int64 `json:"pending"`
	Ready    int64 `json:"ready"`
	Running  int64 `json:"running"`
	Done     int64 `json:"done"`
	Failed   int64 `json:"failed"`
	Dead     int64 `json:"dead"`
	Canceled int64 `json:"canceled"`
}

// Add adds n to the count of state s.
func (c *Counts) Add(s State, n int64) {
	switch s {
	case Pending:
		c.Pending += n
	case Ready:
		c.Ready += n
	case Running:
		c.Running += n
	case Done:
		c.Done += n
	case Failed:
		c.Failed += n
	case Dead:
		c.Dead += n
	case Canceled:
		c.Canceled += n
	}
}

// Get returns the count of state s.
func (c Counts) Get(s State) int64 {
	switch s {
	case Pending:
		return c.Pending
	case Ready:
		return c.Ready
	case Running:
		return c.Running
	case Done:
		return c.Done
	case Failed:
		return c.Failed
	case Dead:
		return c.Dead
	case Canceled:
		return c.Canceled
	}
	return 0
}

// Total is the number of microtasks counted.
func (c Counts) Total() int64 {
	return c.Pending + c.Ready + c.Running + c.Done + c.Failed + c.Dead + c.Canceled
}

// Open is the number of microtasks not in a final state.
func (c Counts) Open() int64 { return c.Pending + c.Ready + c.Running + c.Failed }

// Plus returns the element-wise sum.
func (c Counts) Plus(o Counts) Counts {
	return Counts{c.Pending + o.Pending, c.Ready + o.Ready, c.Running + o.Running, c.Done + o.Done,
		c.Failed + o.Failed, c.Dead + o.Dead, c.Canceled + o.Canceled}
}

// Duration is a time.Duration that reads and writes as text ("30s") in
// both YAML and JSON job specs.
type Duration int64

func (d Duration) MarshalText() ([]byte, error) { return []byte(durString(d)), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// UnmarshalJSON accepts "1m30s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err == nil {
		*d = Duration(f * 1e9)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"30s\" or a number of seconds")
	}
	return d.UnmarshalText([]byte(s))
}
