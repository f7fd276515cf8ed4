package human

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/crowd"
	"github.com/myriadhq/myriad/store"
)

// Reasons an annotator gets no work (api.TasksResponse.Reason), from the
// most to the least telling.
const (
	ReasonPaused       = "paused"
	ReasonNotQualified = "not-qualified"
	ReasonLabels       = "labels"
	ReasonLimit        = "limit"
	ReasonBudget       = "budget"
	ReasonNoWork       = "no-work"
)

var reasonRank = map[string]int{ReasonPaused: 0, ReasonNotQualified: 1, ReasonLabels: 2, ReasonLimit: 3, ReasonBudget: 4, ReasonNoWork: 5, "": 6}

// Limits of the annotator API.
const (
	MaxWant = 5
	MaxWait = 30 * time.Second
)

// Next returns the annotator's current items (in the stage asked for, or
// all) topped up to req.Want with new ones. With req.WaitMS it waits for
// work when there is none.
func (s *Service) Next(ctx context.Context, ann *Annotator, req api.NextRequest) (*api.TasksResponse, error) {
	want := min(max(req.Want, 1), MaxWant)
	wait := min(time.Duration(max(req.WaitMS, 0))*time.Millisecond, MaxWait)
	var deadline <-chan time.Time
	for first := true; ; first = false {
		s.mu.Lock()
		ch := s.workCh
		s.mu.Unlock()
		var resp *api.TasksResponse
		var reqErr error
		err := s.do(ctx, func(ctx context.Context, tx store.HumanTx) error {
			var err error
			resp, reqErr, err = s.topUpLocked(ctx, tx, ann.rt, req.Stage, want)
			return err
		})
		if err != nil {
			return nil, err
		}
		if reqErr != nil {
			return nil, reqErr
		}
		if len(resp.Tasks) > 0 || wait <= 0 || resp.Reason != ReasonNoWork && resp.Reason != ReasonBudget {
			return resp, nil
		}
		if first {
			t := time.NewTimer(wait)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-ch:
		case <-deadline:
			return resp, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.quit:
			return nil, ErrStopped
		}
	}
}

// topUpLocked leases new items to the annotator until it holds want in
// the stage (all stages if stageID is empty).
func (s *Service) topUpLocked(ctx context.Context, tx store.HumanTx, ann *annRT, stageID string, want int) (*api.TasksResponse, error, error) {
	now := s.clock.Now()
	ann.lastSeen = now
	var only *stageRT
	if stageID != "" {
		only = s.stageByID(stageID)
		if only == nil || !s.visibleLocked(only, ann) {
			return nil, fmt.Errorf("stage %q: %w", stageID, ErrNotFound), nil
		}
	}
	resp := &api.TasksResponse{Tasks: []api.AnnotateTask{}}
	current := s.currentLocked(ann, only)
	for len(current) < want {
		a, reason, err := s.leaseOneLocked(ctx, tx, ann, only, now)
		if err != nil {
			return nil, nil, err
		}
		if a == nil {
			if len(current) == 0 {
				resp.Reason = reason
			}
			break
		}
		current = append(current, a)
	}
	for _, a := range current {
		resp.Tasks = append(resp.Tasks, a.task(now))
	}
	resp.Progress = s.progressLocked(ann, only)
	return resp, nil, nil
}

// currentLocked lists the annotator's leases in the stage (or all).
func (s *Service) currentLocked(ann *annRT, only *stageRT) []*asgRT {
	var out []*asgRT
	for _, a := range ann.leases {
		if only == nil || a.stage == only {
			out = append(out, a)
		}
	}
	return out
}

func (s *Service) stageByID(id string) *stageRT {
	for _, st := range s.order {
		if st.key.ID() == id {
			return st
		}
	}
	return nil
}

// visibleLocked reports whether the annotator may see the stage at all.
func (s *Service) visibleLocked(st *stageRT, ann *annRT) bool {
	for k, v := range st.p.AnnotatorLabels {
		if got, ok := ann.rec.Labels[k]; !ok || v != "" && got != v {
			return false
		}
	}
	return true
}

// blockedLocked says why the annotator may not take new work in the
// stage ("" if it may).
func (s *Service) blockedLocked(st *stageRT, ann *annRT) string {
	sa := st.anns[ann.rec.ID]
	switch {
	case ann.rec.Paused:
		return ReasonPaused
	case !s.visibleLocked(st, ann):
		return ReasonLabels
	case sa != nil && sa.paused:
		return ReasonPaused
	case sa != nil && sa.qualResult == qualFailed:
		return ReasonNotQualified
	case st.p.MaxPerAnnotator > 0 && sa != nil && sa.answers+sa.goldAnswers+len(s.currentLocked(ann, st)) >= st.p.MaxPerAnnotator:
		return ReasonLimit
	}
	return ""
}

// leaseOneLocked hands the annotator one new item: the next question of
// a qualification test it has not passed, a gold question (at the
// stage's rate), or the first item of the frontier it has not seen.
func (s *Service) leaseOneLocked(ctx context.Context, tx store.HumanTx, ann *annRT, only *stageRT, now time.Time) (*asgRT, string, error) {
	best := ""
	note := func(r string) {
		if reasonRank[r] < reasonRank[best] {
			best = r
		}
	}
	for _, st := range s.order {
		if only != nil && st != only {
			continue
		}
		if st.rec.State != store.HumanCollecting || st.finalizing {
			note(ReasonNoWork)
			continue
		}
		if r := s.blockedLocked(st, ann); r != "" {
			note(r)
			continue
		}
		it, r := s.pickLocked(st, ann)
		if it == nil {
			note(r)
			continue
		}
		a, err := s.leaseLocked(ctx, tx, st, it, ann, now)
		if err != nil {
			return nil, "", err
		}
		if a != nil {
			return a, "", nil
		}
		note(ReasonNoWork)
	}
	if best == "" {
		best = ReasonNoWork
	}
	return nil, best, nil
}

// pickLocked chooses the annotator's next item in a stage.
func (s *Service) pickLocked(st *stageRT, ann *annRT) (*itemRT, string) {
	id := ann.rec.ID
	sa := st.anns[id]
	if len(st.qual) > 0 && (sa == nil || sa.qualResult != qualPassed) {
		for _, it := range st.qual {
			if !it.assignedTo(id) {
				return it, ""
			}
		}
		return nil, ReasonNoWork // its own test answers are outstanding
	}
	if !st.budgetLeft() {
		return nil, ReasonBudget
	}
	if g := st.p.Gold; g != nil && len(st.gold) > 0 && st.rng.Float64() < g.Rate {
		if it := st.pickGold(id); it != nil {
			return it, ""
		}
	}
	for e := st.frontier.Front(); e != nil; e = e.Next() {
		if it := e.Value.(*itemRT); !it.assignedTo(id) {
			return it, ""
		}
	}
	return nil, ReasonNoWork
}

// leaseLocked records a new assignment. The store checks again that the
// item can take it; if it refuses, the memory was wrong and nothing is
// handed out.
func (s *Service) leaseLocked(ctx context.Context, tx store.HumanTx, st *stageRT, it *itemRT, ann *annRT, now time.Time) (*asgRT, error) {
	maxLeased := 1 << 30
	if it.rec.Kind == store.HumanTask {
		maxLeased = st.need(it)
	}
	exp := now.Add(st.p.Lease.D())
	id, err := tx.HumanLease(ctx, &store.HumanLeaseParams{Item: it.rec.ID, Annotator: ann.rec.ID, MaxLeased: maxLeased, IssuedAt: now, ExpiresAt: exp})
	if errors.Is(err, store.ErrConflict) {
		s.log.Warn("the store refused a lease the cache allowed", "job", st.key.job, "stage", st.stageName, "item", it.rec.ItemID, "err", err)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	a := &asgRT{id: id, item: it, stage: st, ann: ann, state: store.AssignLeased, issued: now, expires: exp}
	s.asgs[id] = a
	s.leased[id] = a
	ann.leases = append(ann.leases, a)
	it.assignees = append(it.assignees, ann.rec.ID)
	it.leased++
	if paidKind(it.rec.Kind) {
		st.paidLeased++
	}
	st.unsettle(it)
	st.frontierSync(it)
	return a, nil
}

// moveLocked changes an assignment's state in the store and in memory,
// keeping the counters in step. Callers check the move is allowed.
func (s *Service) moveLocked(ctx context.Context, tx store.HumanTx, a *asgRT, to store.HumanAssignmentState, label string, ms int64, now time.Time) error {
	p := &store.HumanMoveParams{ID: a.id, Annotator: a.ann.rec.ID, From: a.state, To: to, Label: label, At: now, MS: ms}
	if to == store.AssignLeased {
		p.ExpiresAt = now.Add(a.stage.p.Lease.D())
	}
	ok, err := tx.HumanAssignmentMove(ctx, p)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("assignment %d: the store has it in another state than %d", a.id, a.state)
	}
	st, it := a.stage, a.item
	from := a.state
	a.state = to
	if from == store.AssignLeased {
		delete(s.leased, a.id)
		a.ann.leases = slices.DeleteFunc(a.ann.leases, func(o *asgRT) bool { return o == a })
		it.leased--
		if paidKind(it.rec.Kind) {
			st.paidLeased--
		}
	}
	if from == store.AssignAnswered {
		s.unrecordAnswerLocked(st, a)
	}
	switch to {
	case store.AssignLeased:
		a.expires = p.ExpiresAt
		s.leased[a.id] = a
		a.ann.leases = append([]*asgRT{a}, a.ann.leases...) // an undone item is the current one again
		it.leased++
		if paidKind(it.rec.Kind) {
			st.paidLeased++
		}
	case store.AssignAnswered:
		a.label, a.answered, a.ms = label, now, ms
		s.recordAnswerLocked(st, a)
	case store.AssignSkipped:
		st.ann(a.ann.rec.ID).skips++
	}
	if from == store.AssignSkipped {
		st.ann(a.ann.rec.ID).skips--
	}
	if err := s.decideLocked(ctx, tx, st, it); err != nil {
		return err
	}
	if to != store.AssignAnswered && from == store.AssignLeased || from == store.AssignAnswered {
		s.newWork = true // a lease or an answer came back
	}
	return nil
}

// Qualification results.
const (
	qualPassed = "passed"
	qualFailed = "failed"
)

// recordAnswerLocked counts an answer in the item and the annotator's
// record, and judges the annotator on gold and qualification answers.
func (s *Service) recordAnswerLocked(st *stageRT, a *asgRT) {
	it := a.item
	sa := st.ann(a.ann.rec.ID)
	it.answers = append(it.answers, a)
	if paidKind(it.rec.Kind) {
		st.paid++
	}
	switch it.rec.Kind {
	case store.HumanTask:
		sa.answers++
		sa.answered = append(sa.answered, it)
		st.fresh++
	case store.HumanGold:
		sa.goldAnswers++
		if a.label == it.rec.Gold {
			sa.goldCorrect++
		}
		st.fresh++
	case store.HumanQualification:
		sa.qualAnswers++
		if a.label == it.rec.Gold {
			sa.qualCorrect++
		}
		if sa.qualAnswers >= len(st.qual) {
			sa.qualResult = qualFailed
			if float64(sa.qualCorrect) >= st.p.Qualification.MinAccuracy*float64(len(st.qual))-1e-9 {
				sa.qualResult = qualPassed
			}
		}
	}
}

// unrecordAnswerLocked takes an undone answer back out.
func (s *Service) unrecordAnswerLocked(st *stageRT, a *asgRT) {
	it := a.item
	sa := st.ann(a.ann.rec.ID)
	it.answers = slices.DeleteFunc(it.answers, func(o *asgRT) bool { return o == a })
	if paidKind(it.rec.Kind) {
		st.paid--
	}
	switch it.rec.Kind {
	case store.HumanTask:
		sa.answers--
		if i := slices.Index(sa.answered, it); i >= 0 {
			sa.answered = slices.Delete(sa.answered, i, i+1)
		}
	case store.HumanGold:
		sa.goldAnswers--
		if a.label == it.rec.Gold {
			sa.goldCorrect--
		}
	case store.HumanQualification:
		sa.qualAnswers--
		if a.label == it.rec.Gold {
			sa.qualCorrect--
		}
		sa.qualResult = ""
	}
}

// shouldPause applies the stage's gold policy to an annotator's record.
func (s *Service) shouldPause(st *stageRT, sa *stageAnn) bool {
	g := st.p.Gold
	if g == nil || g.MinAccuracy <= 0 || sa.goldAnswers < g.MinAnswers || sa.goldAnswers == 0 {
		return false
	}
	return float64(sa.goldCorrect)/float64(sa.goldAnswers) < g.MinAccuracy
}

// decideLocked re-judges an item after its answers changed: an item
// whose label is now certain enough stops, one that needs more reopens;
// a gold question may pause or resume its annotators.
func (s *Service) decideLocked(ctx context.Context, tx store.HumanTx, st *stageRT, it *itemRT) error {
	defer func() {
		st.unsettle(it)
		// This item settled (or the budget ran out): it may have been
		// the stage's last one; closing it is looked at after the commit.
		if it.settled() || !st.budgetLeft() {
			s.mayCloseLocked(st)
		}
	}()
	if it.rec.Kind == store.HumanGold {
		for _, a := range it.answers {
			if err := s.judgeLocked(ctx, tx, st, a.ann.rec.ID); err != nil {
				return err
			}
		}
		for _, id := range it.assignees {
			if err := s.judgeLocked(ctx, tx, st, id); err != nil {
				return err
			}
		}
	}
	if it.rec.Kind != store.HumanTask {
		return nil
	}
	d := st.policy.Decide(st.counted(it), st.model)
	switch {
	case !it.stopped && !d.NeedMore:
		if err := tx.HumanItemSetState(ctx, it.rec.ID, store.HumanItemStopped); err != nil {
			return err
		}
		it.stopped = true
		st.stops[d.Reason]++
		it.stopReason = d.Reason
	case it.stopped && d.NeedMore:
		if err := tx.HumanItemSetState(ctx, it.rec.ID, store.HumanItemOpen); err != nil {
			return err
		}
		it.stopped = false
		st.stops[it.stopReason]--
		s.newWork = true
	}
	st.frontierSync(it)
	return nil
}

// judgeLocked pauses or resumes an annotator in a stage by its gold
// record. When a paused annotator's answers are excluded, the items it
// answered are judged again without them and may reopen.
func (s *Service) judgeLocked(ctx context.Context, tx store.HumanTx, st *stageRT, annID string) error {
	sa := st.anns[annID]
	if sa == nil {
		return nil
	}
	should := s.shouldPause(st, sa)
	if should == sa.paused {
		return nil
	}
	sa.paused = should
	sa.reason = ""
	if should {
		sa.reason = fmt.Sprintf("gold accuracy %d/%d below %.2f in job %s stage %s", sa.goldCorrect, sa.goldAnswers, st.p.Gold.MinAccuracy, st.key.job, st.stageName)
		s.log.Info("annotator paused by gold accuracy", "annotator", annID, "job", st.key.job, "stage", st.stageName, "gold", sa.goldAnswers, "correct", sa.goldCorrect)
	}
	if st.p.Gold.PausedAnswers != PausedExclude {
		return nil
	}
	st.fresh = max(st.fresh, s.cfg.RefitEvery) // the model still counts them: refit soon
	for _, it := range slices.Clone(sa.answered) {
		if err := s.decideLocked(ctx, tx, st, it); err != nil {
			return err
		}
	}
	return nil
}

// progressLocked is the annotator's own progress in a stage (or all).
func (s *Service) progressLocked(ann *annRT, only *stageRT) api.Progress {
	var p api.Progress
	currency := ""
	for _, st := range s.order {
		if only != nil && st != only {
			continue
		}
		sa := st.anns[ann.rec.ID]
		if sa == nil {
			continue
		}
		n := sa.answers + sa.goldAnswers
		p.Answers += n
		p.Skips += sa.skips
		p.Earned += float64(n) * st.p.Reward
		if currency == "" {
			currency = st.p.Currency
		}
	}
	p.Currency = currency
	if only != nil && len(only.qual) > 0 {
		p.Qualification = qualState(only, only.anns[ann.rec.ID])
	}
	return p
}

func qualState(st *stageRT, sa *stageAnn) *api.QualificationState {
	q := &api.QualificationState{Items: len(st.qual), Result: "pending"}
	if sa != nil {
		q.Answered = sa.qualAnswers
		if sa.qualResult != "" {
			q.Result = sa.qualResult
		}
	}
	return q
}

// answerErr builds the error of an answer that cannot be taken.
func answerErr(a *asgRT) error {
	switch a.state {
	case store.AssignAnswered:
		return fmt.Errorf("task %d is already answered: %w", a.id, ErrConflict)
	case store.AssignSkipped:
		return fmt.Errorf("task %d was skipped: %w", a.id, ErrConflict)
	case store.AssignExpired:
		return fmt.Errorf("task %d: the lease expired and the item no longer needs this answer: %w", a.id, ErrConflict)
	}
	return fmt.Errorf("task %d was withdrawn: %w", a.id, ErrConflict)
}

// lateOK reports whether an answer to an expired lease may still count:
// the item still needs it (gold and qualification questions always do).
func (s *Service) lateOK(a *asgRT) bool {
	st, it := a.stage, a.item
	if st.finalizing || st.rec.State != store.HumanCollecting {
		return false
	}
	if it.rec.Kind != store.HumanTask {
		return true
	}
	return !it.stopped && it.leased < st.need(it)
}

// Answer records the annotator's answer to one of its tasks and tops its
// items up to req.Next in the same round trip.
func (s *Service) Answer(ctx context.Context, ann *Annotator, id int64, req api.AnswerRequest) (*api.TasksResponse, error) {
	var resp *api.TasksResponse
	var reqErr error
	err := s.do(ctx, func(ctx context.Context, tx store.HumanTx) error {
		resp, reqErr = nil, nil
		now := s.clock.Now()
		a := s.asgs[id]
		if a == nil || a.ann != ann.rt {
			reqErr = fmt.Errorf("task %d: %w", id, ErrNotFound)
			return nil
		}
		st := a.stage
		if !st.isLabel[req.Label] {
			reqErr = fmt.Errorf("label %q is not one of the stage's labels: %w", req.Label, ErrInvalid)
			return nil
		}
		switch {
		case a.state == store.AssignLeased:
		case a.state == store.AssignExpired && s.lateOK(a):
		default:
			reqErr = answerErr(a)
			return nil
		}
		ms := max(req.MS, 0)
		if shown := now.Sub(a.issued).Milliseconds(); ms == 0 || ms > shown {
			ms = shown
		}
		if err := s.moveLocked(ctx, tx, a, store.AssignAnswered, req.Label, ms, now); err != nil {
			return err
		}
		ann.rt.last = a
		s.maybeRefitLocked(st)
		var err error
		resp, reqErr, err = s.topUpLocked(ctx, tx, ann.rt, st.key.ID(), max(req.Next, 0))
		if err != nil || reqErr != nil {
			return err
		}
		if !s.completeLocked(st) { // else this answer closes the stage: no undo
			until := now.Add(s.cfg.UndoWindow).UTC()
			resp.UndoUntil = &until
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, reqErr
}

// Skip gives a task back: someone else will answer it, and this
// annotator will not see the item again.
func (s *Service) Skip(ctx context.Context, ann *Annotator, id int64, next int) (*api.TasksResponse, error) {
	var resp *api.TasksResponse
	var reqErr error
	err := s.do(ctx, func(ctx context.Context, tx store.HumanTx) error {
		resp, reqErr = nil, nil
		a := s.asgs[id]
		if a == nil || a.ann != ann.rt {
			reqErr = fmt.Errorf("task %d: %w", id, ErrNotFound)
			return nil
		}
		if a.state != store.AssignLeased && a.state != store.AssignExpired {
			reqErr = answerErr(a)
			return nil
		}
		if err := s.moveLocked(ctx, tx, a, store.AssignSkipped, "", 0, s.clock.Now()); err != nil {
			return err
		}
		var err error
		resp, reqErr, err = s.topUpLocked(ctx, tx, ann.rt, a.stage.key.ID(), max(next, 0))
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, reqErr
}

// Undo takes back the annotator's last answer if it is at most
// UndoWindow old; the task is the annotator's current one again.
func (s *Service) Undo(ctx context.Context, ann *Annotator, id int64) (*api.TasksResponse, error) {
	var resp *api.TasksResponse
	var reqErr error
	err := s.do(ctx, func(ctx context.Context, tx store.HumanTx) error {
		resp, reqErr = nil, nil
		now := s.clock.Now()
		a := s.asgs[id]
		if last := ann.rt.last; a == nil && last != nil && last.id == id {
			a = last // its stage has ended and left memory: refused below
		}
		switch {
		case a == nil || a.ann != ann.rt:
			reqErr = fmt.Errorf("task %d: %w", id, ErrNotFound)
			return nil
		case ann.rt.last != a || a.state != store.AssignAnswered:
			reqErr = fmt.Errorf("task %d is not your last answer: %w", id, ErrConflict)
			return nil
		case now.Sub(a.answered) > s.cfg.UndoWindow:
			reqErr = fmt.Errorf("task %d was answered %v ago; answers can be undone for %v: %w", id, now.Sub(a.answered).Round(time.Second), s.cfg.UndoWindow, ErrConflict)
			return nil
		case a.stage.finalizing || a.stage.rec.State != store.HumanCollecting:
			reqErr = fmt.Errorf("task %d: its stage has closed: %w", id, ErrConflict)
			return nil
		}
		if err := s.moveLocked(ctx, tx, a, store.AssignLeased, "", 0, now); err != nil {
			return err
		}
		ann.rt.last = nil
		var err error
		resp, reqErr, err = s.topUpLocked(ctx, tx, ann.rt, a.stage.key.ID(), 0)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, reqErr
}

// Signout gives back the annotator's current items at once.
func (s *Service) Signout(ctx context.Context, ann *Annotator) error {
	return s.do(ctx, func(ctx context.Context, tx store.HumanTx) error {
		now := s.clock.Now()
		for _, a := range slices.Clone(ann.rt.leases) {
			if err := s.moveLocked(ctx, tx, a, store.AssignExpired, "", 0, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// maybeRefitLocked queues a refit of the stage's annotator model once
// enough answers arrived since the last.
func (s *Service) maybeRefitLocked(st *stageRT) {
	if !st.p.adaptive() || st.fitting || st.fresh < s.cfg.RefitEvery {
		return
	}
	answers, known := st.fitInput()
	select {
	case s.fits <- fitJob{st: st, answers: answers, known: known, warm: st.warm, taken: st.fresh}:
		st.fitting = true
	default: // the fitter is busy with other stages; a later answer asks again
	}
}

// fitJob is a refit waiting for the fitter.
type fitJob struct {
	st      *stageRT
	answers []crowd.Answer
	known   crowd.Truth
	warm    *crowd.WorkerModel
	taken   int
}

// pickGold chooses the next gold question for an annotator: one it has not
// been given, whose known answer is the label the annotator has been asked
// least so far, chosen at random among those. Balancing the answers keeps
// gold accuracy meaningful for annotators who always give one label: with
// gold drawn uniformly, a run of gold questions whose answer happens to be
// that label would hide a spammer.
func (st *stageRT) pickGold(id string) *itemRT {
	asked := map[string]int{}
	for _, it := range st.gold {
		if it.assignedTo(id) {
			asked[it.rec.Gold]++
		}
	}
	var best *itemRT
	bestN, ties := 0, 0
	start := st.rng.IntN(len(st.gold))
	for i := range st.gold {
		it := st.gold[(start+i)%len(st.gold)]
		if it.assignedTo(id) {
			continue
		}
		n := asked[it.rec.Gold]
		switch {
		case best == nil || n < bestN:
			best, bestN, ties = it, n, 1
		case n == bestN:
			// Reservoir sampling among the least-asked labels, so the
			// label order of the gold list does not matter.
			ties++
			if st.rng.IntN(ties) == 0 {
				best = it
			}
		}
	}
	return best
}
