package store

import (
	"context"
	"encoding/json"
	"time"
)

// HumanStore keeps the state of human computation (package human):
// annotators, the human stages being collected, their items and every
// assignment of an item to an annotator with its answer. It is kept apart
// from Store so that a driver can add it on its own; package human uses
// it when the store implements it.
//
// Its write methods run in their own transactions (HumanInTx), which a
// driver may serialise with Store.InTx.
type HumanStore interface {
	// HumanInTx runs fn in one write transaction. If fn returns an error
	// nothing it wrote is kept. fn must not retain tx.
	HumanInTx(ctx context.Context, fn func(tx HumanTx) error) error

	// AnnotatorList lists every annotator, by name.
	AnnotatorList(ctx context.Context) ([]*Annotator, error)
	// HumanStageList lists the human stages, oldest first (all of them
	// with active, only those not yet reported or canceled).
	HumanStageList(ctx context.Context, active bool) ([]*HumanStage, error)
	// HumanItemList lists the items of one human stage, by id.
	HumanItemList(ctx context.Context, jobID string, stage int) ([]*HumanItem, error)
	// HumanAssignmentList lists the assignments of one human stage's
	// items, by id.
	HumanAssignmentList(ctx context.Context, jobID string, stage int) ([]*HumanAssignment, error)
}

// HumanTx is a write transaction of a HumanStore. Its methods are only
// valid inside HumanInTx.
type HumanTx interface {
	// AnnotatorInsert stores a new annotator; ErrConflict if the name or
	// the token hash is taken.
	AnnotatorInsert(ctx context.Context, a *Annotator) error
	// AnnotatorUpdate stores an annotator's labels and pause state;
	// ErrNotFound if there is no such annotator.
	AnnotatorUpdate(ctx context.Context, a *Annotator) error

	// HumanStageInsert records a human stage taken from the coordinator;
	// ErrConflict if (JobID, Stage) exists.
	HumanStageInsert(ctx context.Context, s *HumanStage) error
	// HumanStageUpdate stores a stage's lease (TaskID, Token), State,
	// Output and FinishedAt; ErrNotFound if there is no such stage.
	HumanStageUpdate(ctx context.Context, s *HumanStage) error

	// HumanItemInsert stores items and sets their ID.
	HumanItemInsert(ctx context.Context, items []*HumanItem) error
	// HumanItemSetState records whether an item still takes answers.
	HumanItemSetState(ctx context.Context, id int64, state HumanItemState) error

	// HumanLease hands an item to an annotator and returns the new
	// assignment's id. It is the store's own guard against
	// over-assignment: it fails with ErrConflict, writing nothing, if the
	// item is not open, already has MaxLeased or more leases out, or was
	// ever assigned to this annotator.
	HumanLease(ctx context.Context, p *HumanLeaseParams) (int64, error)
	// HumanAssignmentMove moves an assignment from state From to To,
	// keeping the item's Answers and Leased counters in step. It reports
	// false, changing nothing, if the assignment does not exist, belongs
	// to another annotator or is not in state From.
	HumanAssignmentMove(ctx context.Context, p *HumanMoveParams) (bool, error)
}

// Annotator is a person who labels items through the annotator app.
type Annotator struct {
	ID   string
	Name string
	// TokenHash is the SHA-256 of the annotator's invite token. The
	// token itself is shown once and never stored.
	TokenHash []byte
	Labels    map[string]string
	Paused    bool
	Reason    string // why Paused
	CreatedAt time.Time
}

// HumanStageState is the state of a human stage.
type HumanStageState int

// The numeric values are stored; never renumber them.
const (
	// HumanCollecting: items are being handed to annotators.
	HumanCollecting HumanStageState = 0
	// HumanFinished: labels are final (Output holds them) but the
	// coordinator has not yet acknowledged the microtask's completion.
	HumanFinished HumanStageState = 1
	// HumanReported: the coordinator committed the stage's result.
	HumanReported HumanStageState = 2
	// HumanCanceled: the job was canceled.
	HumanCanceled HumanStageState = 3
)

// HumanStage is one human stage of a job, collected under one coordinator
// microtask (TaskID) leased with Token.
type HumanStage struct {
	JobID  string
	Stage  int
	TaskID int64
	Token  int64
	State  HumanStageState
	// Info is what package human keeps of the stage's definition (JSON;
	// opaque to the store).
	Info       json.RawMessage
	Output     json.RawMessage // the labelled items, once Finished
	CreatedAt  time.Time
	FinishedAt time.Time // zero while collecting
}

// HumanItemKind says what an item is for.
type HumanItemKind int

// The numeric values are stored; never renumber them.
const (
	// HumanTask is an item whose label is wanted.
	HumanTask HumanItemKind = 0
	// HumanGold is an item with a known answer mixed in to measure
	// annotators.
	HumanGold HumanItemKind = 1
	// HumanQualification is an item of the stage's qualification test.
	HumanQualification HumanItemKind = 2
	// HumanModel is an item the model labelled confidently enough; it is
	// never shown to people (active learning).
	HumanModel HumanItemKind = 3
)

// HumanItemState says whether an item takes answers.
type HumanItemState int

const (
	HumanItemOpen    HumanItemState = 0
	HumanItemStopped HumanItemState = 1
)

// HumanItem is one item of a human stage.
type HumanItem struct {
	ID     int64
	JobID  string
	Stage  int
	Seq    int // position among the stage's items, for output order
	ItemID string
	Kind   HumanItemKind
	Data   json.RawMessage
	// Gold is the known answer of gold and qualification items.
	Gold string
	// ModelLabel and ModelProb are the upstream model's label and its
	// probability, when the item came from a model.
	ModelLabel string
	ModelProb  float64
	HasModel   bool
	State      HumanItemState
	// Answers and Leased count the item's answered and leased
	// assignments (kept by HumanLease and HumanAssignmentMove).
	Answers, Leased int
}

// HumanAssignmentState is the state of one assignment.
type HumanAssignmentState int

// The numeric values are stored; never renumber them.
const (
	AssignLeased    HumanAssignmentState = 0 // handed out, no answer yet
	AssignAnswered  HumanAssignmentState = 1
	AssignSkipped   HumanAssignmentState = 2
	AssignExpired   HumanAssignmentState = 3 // the lease ran out
	AssignReleased  HumanAssignmentState = 4 // given back unseen (e.g. prefetched, page closed)
	AssignWithdrawn HumanAssignmentState = 5 // the item or stage stopped taking answers
)

// Leases reports whether an assignment in state s holds one of its item's
// leases.
func (s HumanAssignmentState) Leases() bool { return s == AssignLeased }

// HumanAssignment is one item handed to one annotator.
type HumanAssignment struct {
	ID        int64
	Item      int64
	Annotator string // annotator id
	State     HumanAssignmentState
	Label     string // the answer, when Answered
	IssuedAt  time.Time
	ExpiresAt time.Time
	// AnsweredAt and MS are set when answered: MS is how long the
	// annotator looked at the item.
	AnsweredAt time.Time
	MS         int64
}

// HumanLeaseParams asks for a new assignment.
type HumanLeaseParams struct {
	Item      int64
	Annotator string
	// MaxLeased is how many leases the item may have out, this one
	// included.
	MaxLeased int
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// HumanMoveParams moves an assignment between states. Label, At and MS
// are recorded when To is AssignAnswered; ExpiresAt when To is
// AssignLeased (an undo gives the annotator the item back).
type HumanMoveParams struct {
	ID        int64
	Annotator string
	From, To  HumanAssignmentState
	Label     string
	At        time.Time
	MS        int64
	ExpiresAt time.Time
}
