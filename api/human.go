package api

import "time"

// The human computation API: what annotators see (/v1/annotate/...) and
// what requesters and the dashboard see of annotators (/v1/annotators,
// JobStatus.Human).
//
// Everything an annotator receives is built from the types below marked
// "sent to annotators"; none of them has room for a gold answer, another
// annotator's answer or an aggregated label.

// Display is what an annotator is shown of one item (sent to
// annotators). It is made only of the fields the stage names, never of
// the whole item.
type Display struct {
	Text   string         `json:"text,omitempty"`
	Image  string         `json:"image,omitempty"` // an http(s) URL or a data:image/... URI
	Fields []DisplayField `json:"fields,omitempty"`
}

// DisplayField is one named value shown beside the item.
type DisplayField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// AnnotateLabel is one answer an annotator may give (sent to annotators).
type AnnotateLabel struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Examples    []Display `json:"examples,omitempty"`
}

// AnnotateStage is a human stage an annotator may work on, with its
// instructions (sent to annotators).
type AnnotateStage struct {
	ID           string          `json:"id"`
	Title        string          `json:"title"`
	Instructions string          `json:"instructions,omitempty"`
	Labels       []AnnotateLabel `json:"labels"`
	Rules        []string        `json:"rules,omitempty"`
	Reward       float64         `json:"reward,omitempty"`
	Currency     string          `json:"currency,omitempty"`
	// Qualification is set when the stage asks for a test first.
	Qualification *QualificationState `json:"qualification,omitempty"`
	// MyAnswers counts this annotator's answers in the stage.
	MyAnswers int `json:"my_answers"`
	// Blocked says why this annotator gets no work here ("" if it may).
	Blocked string `json:"blocked,omitempty"`
}

// QualificationState is an annotator's progress through a stage's
// qualification test (sent to annotators; it never says which answers
// were right).
type QualificationState struct {
	Items    int    `json:"items"`
	Answered int    `json:"answered"`
	Result   string `json:"result"` // pending, passed, failed
}

// AnnotateTask is one item leased to the annotator (sent to annotators).
type AnnotateTask struct {
	ID      int64   `json:"id"`
	Stage   string  `json:"stage"`
	Display Display `json:"display"`
	// Qualification marks a question of the qualification test.
	Qualification bool      `json:"qualification,omitempty"`
	ExpiresAt     time.Time `json:"expires_at"`
}

// NextRequest asks for work: the annotator's current items in the stage
// topped up to Want (1..5) with new ones. WaitMS waits up to that long
// (at most 30 s) when there is none.
type NextRequest struct {
	Stage  string `json:"stage,omitempty"`
	Want   int    `json:"want,omitempty"`
	WaitMS int    `json:"wait_ms,omitempty"`
}

// TasksResponse answers next, answer, skip and undo (sent to annotators):
// the annotator's current items, oldest first, and why there are none.
type TasksResponse struct {
	Tasks []AnnotateTask `json:"tasks"`
	// Reason is set when Tasks is empty: no-work, paused, not-qualified,
	// budget, limit, labels or signed-out.
	Reason string `json:"reason,omitempty"`
	// UndoUntil is when the last answer can no longer be undone (answer
	// only; absent when the answer completed its stage, which then closes
	// at once).
	UndoUntil *time.Time `json:"undo_until,omitempty"`
	Progress  Progress   `json:"progress"`
}

// Progress is the annotator's own progress (sent to annotators).
type Progress struct {
	Answers  int     `json:"answers"`
	Skips    int     `json:"skips"`
	Earned   float64 `json:"earned"`
	Currency string  `json:"currency,omitempty"`
	// Qualification is the test's progress in the stage asked for.
	Qualification *QualificationState `json:"qualification,omitempty"`
}

// AnswerRequest answers a task; Next asks for the current items to be
// topped up to Next in the same round trip.
type AnswerRequest struct {
	Label string `json:"label"`
	// MS is how long the item was on screen.
	MS     int64 `json:"ms,omitempty"`
	Next   int   `json:"next,omitempty"`
	WaitMS int   `json:"wait_ms,omitempty"`
}

// SigninRequest exchanges an invite token for a session cookie.
type SigninRequest struct {
	Token string `json:"token"`
}

// Me describes the signed-in annotator (sent to annotators).
type Me struct {
	Name     string   `json:"name"`
	Progress Progress `json:"progress"`
}

// AnnotatorCreate adds an annotator (POST /v1/annotators).
type AnnotatorCreate struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

// AnnotatorCreated is shown once: the invite token is not kept.
type AnnotatorCreated struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Token string `json:"token"`
	// Link signs the annotator in when opened.
	Link string `json:"link"`
}

// PauseRequest pauses an annotator.
type PauseRequest struct {
	Reason string `json:"reason,omitempty"`
}

// AnnotatorInfo is one annotator's record (GET /v1/annotators), for
// requesters and the dashboard.
type AnnotatorInfo struct {
	ID     string            `json:"id"`
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	// Paused is true when an operator paused the annotator or its gold
	// accuracy paused it in a running stage; PauseReason says which.
	Paused      bool   `json:"paused"`
	PauseReason string `json:"pause_reason,omitempty"`
	Answers     int    `json:"answers"`
	Skips       int    `json:"skips"`
	// Gold answers and how many were right; GoldAccuracy is null until
	// the first gold answer.
	GoldAnswers  int      `json:"gold_answers"`
	GoldCorrect  int      `json:"gold_correct"`
	GoldAccuracy *float64 `json:"gold_accuracy"`
	// Agreement is the share of answers equal to the current aggregate
	// label of their item; EstimatedAccuracy is Dawid-Skene's estimate.
	Agreement         *float64 `json:"agreement"`
	EstimatedAccuracy *float64 `json:"estimated_accuracy"`
	// MedianMS is the median time an item was on screen before its
	// answer (speed); AnswersPerHour counts the last hour's answers.
	MedianMS       int64      `json:"median_ms"`
	AnswersPerHour int        `json:"answers_per_hour"`
	Leased         int        `json:"leased"`
	LastSeen       *time.Time `json:"last_seen,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
}

// HumanStageStatus is the progress of one human stage, part of a job's
// status.
type HumanStageStatus struct {
	Stage string `json:"stage"`
	Title string `json:"title"`
	// State is collecting, finished, reported or canceled.
	State string `json:"state"`
	// Items are the items people label; Model those the model labelled
	// (active learning); Gold the job's own gold items.
	Items   int `json:"items"`
	Model   int `json:"model"`
	Gold    int `json:"gold"`
	Stopped int `json:"stopped"`
	Leased  int `json:"leased"`
	// Answers counts answers to items; GoldAnswers those to gold.
	Answers     int `json:"answers"`
	GoldAnswers int `json:"gold_answers"`
	// Stops counts stopped items by why (confident, max-answers).
	Stops      map[string]int `json:"stops,omitempty"`
	Annotators int            `json:"annotators"`
	Paused     int            `json:"paused"`
	// Budget: reward per answer, the cap (0: none), what was spent, what
	// remains (null without a cap), and whether issuing stopped on it.
	Reward    float64  `json:"reward"`
	Budget    float64  `json:"budget"`
	Spent     float64  `json:"spent"`
	Remaining *float64 `json:"remaining"`
	Exhausted bool     `json:"budget_exhausted"`
	Currency  string   `json:"currency,omitempty"`
}
