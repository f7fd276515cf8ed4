package human

import (
	"container/list"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/crowd"
	"github.com/myriadhq/myriad/store"
)

// stageKey names a human stage: a job and the index of its stage.
type stageKey struct {
	job   string
	stage int
}

// ID is the stage's id in the annotator API.
func (k stageKey) ID() string { return fmt.Sprintf("%s.%d", k.job, k.stage) }

// annRT is the in-memory view of an annotator.
type annRT struct {
	rec      store.Annotator
	hash     [32]byte
	lastSeen time.Time
	// last is the annotator's latest answer, which it may undo.
	last *asgRT
	// leases are the annotator's current assignments, oldest first.
	leases []*asgRT
	// past is its record in stages no longer in memory.
	past *pastStats
}

// stageRT is the in-memory view of a human stage being collected.
type stageRT struct {
	key       stageKey
	jobName   string
	stageName string
	priority  int
	rec       store.HumanStage
	p         *Params
	policy    crowd.RedundancyPolicy
	labels    []string
	isLabel   map[string]bool
	method    crowd.Method

	items []*itemRT // every item, by id
	byID  map[int64]*itemRT
	// frontier holds the task items that may take another lease (leased
	// below what they still need), items that went back to needing more
	// first, so that started items finish.
	frontier *list.List
	gold     []*itemRT // gold questions (the stage's own and the job's)
	qual     []*itemRT // qualification test, in order
	anns     map[string]*stageAnn

	// model is the current worker-quality estimate that redundancy
	// decisions use (nil: fixed redundancy); fresh counts answers since
	// its fit; fitting is set while a refit runs.
	model   *crowd.WorkerModel
	warm    *crowd.WorkerModel
	fresh   int
	fitting bool
	// labelsNow holds the last fit's labels, for agreement figures;
	// final is the final aggregation once the stage is labelled.
	labelsNow map[string]string
	final     *crowd.Result

	paid       int // answers paid for (items and gold)
	paidLeased int // leases out that will be paid when answered
	stops      map[crowd.StopReason]int
	rng        *rand.Rand

	suspended  bool // the coordinator took the microtask back; waiting for a new lease
	finalizing bool // labels are being computed; nothing more is handed out
	// mayClose is set when an item settled: the stage may now have all
	// it needs, and the closer looks at it at once. items[:settledPrefix] are
	// known settled (see unsettle).
	mayClose      bool
	settledPrefix int
}

// itemRT is one item of a human stage.
type itemRT struct {
	rec     *store.HumanItem
	q       string // question key for crowd: "i" + id
	display api.Display
	// answers are the answers given; assignees everyone ever handed the
	// item (nobody gets it twice).
	answers    []*asgRT
	assignees  []string
	leased     int
	stopped    bool
	stopReason crowd.StopReason
	elem       *list.Element // in the frontier
	idx        int           // in stageRT.items
}

// settled reports whether the item asks nothing more of anyone: an item
// to label that is stopped with no lease out, or an item of another kind.
func (it *itemRT) settled() bool {
	return it.rec.Kind != store.HumanTask || it.stopped && it.leased == 0
}

// unsettle keeps stageRT.settledPrefix true when it may no longer be: it is
// called whenever an item may have been reopened or leased.
func (st *stageRT) unsettle(it *itemRT) {
	if !it.settled() && it.idx < st.settledPrefix {
		st.settledPrefix = it.idx
	}
}

func (it *itemRT) assignedTo(ann string) bool {
	for _, a := range it.assignees {
		if a == ann {
			return true
		}
	}
	return false
}

// stageAnn is what a stage knows of one annotator.
type stageAnn struct {
	answers     int // task answers
	skips       int
	goldAnswers int
	goldCorrect int
	qualAnswers int
	qualCorrect int
	qualResult  string // "", passed, failed
	paused      bool   // by gold accuracy
	reason      string
	answered    []*itemRT // task items answered, for reopening when paused
}

// asgRT is one assignment of an item to an annotator.
type asgRT struct {
	id       int64
	item     *itemRT
	stage    *stageRT
	ann      *annRT
	state    store.HumanAssignmentState
	label    string
	issued   time.Time
	expires  time.Time
	answered time.Time
	ms       int64
}

func (a *asgRT) task(now time.Time) api.AnnotateTask {
	return api.AnnotateTask{ID: a.id, Stage: a.stage.key.ID(), Display: a.item.display,
		Qualification: a.item.rec.Kind == store.HumanQualification, ExpiresAt: a.expires.UTC()}
}

// paidKind reports whether answers to the item are paid.
func paidKind(k store.HumanItemKind) bool { return k == store.HumanTask || k == store.HumanGold }

// excluded reports whether the annotator's answers are left out of the
// stage's decisions and labels.
func (s *stageRT) excluded(ann string) bool {
	sa := s.anns[ann]
	return sa != nil && sa.paused && s.p.Gold != nil && s.p.Gold.PausedAnswers == PausedExclude
}

// counted returns the item's answers that count, as crowd answers.
func (s *stageRT) counted(it *itemRT) []crowd.Answer {
	out := make([]crowd.Answer, 0, len(it.answers))
	for _, a := range it.answers {
		if !s.excluded(a.ann.rec.ID) {
			out = append(out, crowd.Answer{Question: it.q, Worker: a.ann.rec.ID, Label: a.label})
		}
	}
	return out
}

// need is how many more leases a task item may have out now: what the
// redundancy policy still wants of it, at least one while it wants more,
// never past k_max.
func (s *stageRT) need(it *itemRT) int {
	if it.stopped || it.rec.Kind != store.HumanTask {
		return 0
	}
	ans := s.counted(it)
	d := s.policy.Decide(ans, s.model)
	if !d.NeedMore {
		return 0
	}
	n := max(s.policy.MinAnswers-d.Used, 1)
	return min(n, s.policy.MaxAnswers-len(ans))
}

// budgetLeft reports whether one more paid answer fits in the budget,
// counting the leases out as spent.
func (s *stageRT) budgetLeft() bool {
	if s.p.Budget <= 0 {
		return true
	}
	return float64(s.paid+s.paidLeased+1)*s.p.Reward <= s.p.Budget+1e-9
}

func (s *stageRT) spent() float64 { return float64(s.paid) * s.p.Reward }

func (s *stageRT) ann(id string) *stageAnn {
	sa := s.anns[id]
	if sa == nil {
		sa = &stageAnn{}
		s.anns[id] = sa
	}
	return sa
}

// frontierSync puts the item in the frontier if it may take a lease, and
// takes it out if not; back reports items returning to the frontier,
// which go first.
func (s *stageRT) frontierSync(it *itemRT) {
	want := it.rec.Kind == store.HumanTask && !it.stopped && it.leased < s.need(it)
	switch {
	case want && it.elem == nil:
		if it.answers == nil && it.leased == 0 {
			it.elem = s.frontier.PushBack(it)
		} else {
			it.elem = s.frontier.PushFront(it)
		}
	case !want && it.elem != nil:
		s.frontier.Remove(it.elem)
		it.elem = nil
	}
}
