package human

import (
	"container/list"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/myriadhq/myriad/crowd"
	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// stageInfo is what the store keeps of a human stage's definition
// (store.HumanStage.Info).
type stageInfo struct {
	JobName   string          `json:"job_name"`
	StageName string          `json:"stage_name"`
	Priority  int             `json:"priority"`
	Params    json.RawMessage `json:"params"`
}

// errBadItems is a stage whose items cannot be shown to people; the
// stage's microtask fails for good with it.
type errBadItems struct{ msg string }

func (e *errBadItems) Error() string { return e.msg }

// newStageRT builds an empty stage runtime.
func (s *Service) newStageRT(rec store.HumanStage, info *stageInfo, p *Params) *stageRT {
	st := &stageRT{
		key:       stageKey{rec.JobID, rec.Stage},
		jobName:   info.JobName,
		stageName: info.StageName,
		priority:  info.Priority,
		rec:       rec,
		p:         p,
		policy:    p.policy(),
		labels:    p.labelNames(),
		isLabel:   map[string]bool{},
		byID:      map[int64]*itemRT{},
		frontier:  list.New(),
		anns:      map[string]*stageAnn{},
		stops:     map[crowd.StopReason]int{},
		rng:       rand.New(rand.NewPCG(s.cfg.Seed, uint64(len(rec.JobID))<<32|uint64(rec.Stage))),
	}
	st.method, _ = crowd.ParseMethod(p.Aggregate)
	for _, l := range st.labels {
		st.isLabel[l] = true
	}
	if p.adaptive() {
		st.model, _ = crowd.SymmetricModel(st.labels, crowd.DefaultColdAccuracy)
	}
	return st
}

// addItemLocked adds an item to a stage's runtime.
func (st *stageRT) addItem(rec *store.HumanItem) *itemRT {
	it := &itemRT{rec: rec, q: "i" + strconv.FormatInt(rec.ID, 10), stopped: rec.State == store.HumanItemStopped}
	if rec.Kind != store.HumanModel {
		it.display = st.p.display(rec.Data)
	}
	it.idx = len(st.items)
	st.items = append(st.items, it)
	st.byID[rec.ID] = it
	switch rec.Kind {
	case store.HumanGold:
		st.gold = append(st.gold, it)
	case store.HumanQualification:
		st.qual = append(st.qual, it)
	}
	return it
}

// classify says what becomes of one of the stage's input items: a gold
// question of the job (its Gold field holds a label), an item the model
// labelled confidently enough (Route), or an item for people.
func (p *Params) classify(data json.RawMessage, isLabel map[string]bool) *store.HumanItem {
	it := &store.HumanItem{Kind: store.HumanTask, Data: data}
	var obj map[string]any
	if json.Unmarshal(data, &obj) != nil || obj == nil {
		return it
	}
	if p.Gold != nil {
		if g, ok := lookup(obj, p.Gold.Field); ok {
			if l, ok := g.(string); ok && isLabel[l] {
				it.Kind, it.Gold = store.HumanGold, l
				return it
			}
		}
	}
	if r := p.Route; r != nil {
		fields := []string{r.Field}
		if r.Field == "" {
			fields = []string{"probability", "prob"}
		}
		for _, f := range fields {
			pv, ok := lookup(obj, f)
			prob, isNum := pv.(float64)
			if !ok || !isNum {
				continue
			}
			lv, _ := lookup(obj, r.LabelField)
			if l, ok := lv.(string); ok && isLabel[l] {
				it.ModelLabel, it.ModelProb, it.HasModel = l, prob, true
				if prob >= r.Below {
					it.Kind = store.HumanModel
				}
			}
			break
		}
	}
	return it
}

// buildItems turns a lease's items into the stage's items, followed by
// its own gold questions and its qualification test.
func (p *Params) buildItems(jobID string, stage int, in []task.Item, labels []string) ([]*store.HumanItem, error) {
	isLabel := map[string]bool{}
	for _, l := range labels {
		isLabel[l] = true
	}
	out := make([]*store.HumanItem, 0, len(in))
	for i, item := range in {
		it := p.classify(item.Data, isLabel)
		it.JobID, it.Stage, it.Seq, it.ItemID = jobID, stage, i, item.ID
		if it.Kind != store.HumanModel && displayEmpty(p.display(item.Data)) {
			return nil, &errBadItems{fmt.Sprintf("item %q: nothing to show people: %s", item.ID, p.showHint())}
		}
		out = append(out, it)
	}
	add := func(kind store.HumanItemKind, prefix string, items []GoldItem) {
		for _, g := range items {
			out = append(out, &store.HumanItem{JobID: jobID, Stage: stage, Seq: -1, ItemID: prefix + g.ID, Kind: kind, Data: g.Data, Gold: g.Answer})
		}
	}
	if p.Gold != nil {
		add(store.HumanGold, "gold:", p.Gold.Items)
	}
	if p.Qualification != nil {
		add(store.HumanQualification, "qualification:", p.Qualification.Items)
	}
	return out, nil
}

// insertStageLocked adds a new stage to memory (its records are stored
// by the caller in the same transaction).
func (s *Service) insertStageLocked(st *stageRT) {
	s.stages[st.key] = st
	s.order = append(s.order, st)
	slices.SortStableFunc(s.order, func(a, b *stageRT) int {
		if a.priority != b.priority {
			return b.priority - a.priority
		}
		return a.rec.CreatedAt.Compare(b.rec.CreatedAt)
	})
	for _, it := range st.items {
		st.frontierSync(it)
	}
	s.newWork = true
	s.mayCloseLocked(st) // a stage with nothing to ask closes at once
}

// removeStageLocked forgets a stage that has ended.
func (s *Service) removeStageLocked(st *stageRT, why string) {
	s.foldStatsLocked(st)
	delete(s.stages, st.key)
	s.order = slices.DeleteFunc(s.order, func(o *stageRT) bool { return o == st })
	for _, it := range st.items {
		for _, a := range it.answers {
			delete(s.asgs, a.id)
		}
	}
	for id, a := range s.asgs {
		if a.stage == st {
			delete(s.asgs, id)
			delete(s.leased, id)
			a.ann.leases = slices.DeleteFunc(a.ann.leases, func(o *asgRT) bool { return o == a })
			if a.ann.last == a {
				a.ann.last = nil
			}
		}
	}
	s.done[st.key] = why
}

// loadStageLocked rebuilds a stage from the store.
func (s *Service) loadStageLocked(ctx context.Context, rec *store.HumanStage) error {
	var info stageInfo
	if err := json.Unmarshal(rec.Info, &info); err != nil {
		return fmt.Errorf("load human stage %s/%d: %w", rec.JobID, rec.Stage, err)
	}
	p, errs := ParseParams(info.Params, info.StageName)
	if len(errs) > 0 {
		return fmt.Errorf("load human stage %s/%d: params: %s", rec.JobID, rec.Stage, errs[0].Msg)
	}
	st := s.newStageRT(*rec, &info, p)
	items, err := s.st.HumanItemList(ctx, rec.JobID, rec.Stage)
	if err != nil {
		return err
	}
	for _, it := range items {
		st.addItem(it)
	}
	asgs, err := s.st.HumanAssignmentList(ctx, rec.JobID, rec.Stage)
	if err != nil {
		return err
	}
	for _, r := range asgs {
		it := st.byID[r.Item]
		ann := s.anns[r.Annotator]
		if it == nil || ann == nil {
			continue
		}
		a := &asgRT{id: r.ID, item: it, stage: st, ann: ann, state: r.State, label: r.Label,
			issued: r.IssuedAt, expires: r.ExpiresAt, answered: r.AnsweredAt, ms: r.MS}
		s.asgs[a.id] = a
		it.assignees = append(it.assignees, ann.rec.ID)
		switch r.State {
		case store.AssignLeased:
			s.leased[a.id] = a
			ann.leases = append(ann.leases, a)
			it.leased++
			if paidKind(it.rec.Kind) {
				st.paidLeased++
			}
		case store.AssignAnswered:
			s.recordAnswerLocked(st, a)
		case store.AssignSkipped:
			st.ann(ann.rec.ID).skips++
		}
	}
	for id := range st.anns {
		st.anns[id].paused = s.shouldPause(st, st.anns[id])
	}
	if p.adaptive() {
		answers, known := st.fitInput()
		if len(answers) > 0 {
			if err := st.applyFit(ctx, answers, known); err != nil {
				s.log.Warn("refit at start", "job", rec.JobID, "stage", info.StageName, "err", err)
			}
		}
	}
	for _, it := range st.items {
		if it.stopped {
			it.stopReason = crowd.StopConfident
			if len(it.answers) >= st.policy.MaxAnswers {
				it.stopReason = crowd.StopMaxAnswers
			}
			st.stops[it.stopReason]++
		}
	}
	s.insertStageLocked(st)
	return nil
}

// fitInput collects the answers a refit uses (items and gold, paused
// annotators left out when their answers are excluded) and the gold
// answers known.
func (st *stageRT) fitInput() ([]crowd.Answer, crowd.Truth) {
	var answers []crowd.Answer
	known := crowd.Truth{}
	for _, it := range st.items {
		switch it.rec.Kind {
		case store.HumanGold:
			known[it.q] = it.rec.Gold
		case store.HumanTask:
		default:
			continue
		}
		answers = append(answers, st.counted(it)...)
	}
	return answers, known
}

// applyFit fits Dawid-Skene to answers and makes it the stage's model
// (shrunk towards the typical annotator, as crowd.Estimator serves it).
func (st *stageRT) applyFit(ctx context.Context, answers []crowd.Answer, known crowd.Truth) error {
	res, err := fit(ctx, answers, known, st.labels, st.warm)
	if err != nil {
		return err
	}
	st.useFit(res)
	return nil
}

func fit(ctx context.Context, answers []crowd.Answer, known crowd.Truth, labels []string, warm *crowd.WorkerModel) (*crowd.Result, error) {
	res, err := crowd.DawidSkene(ctx, answers, crowd.DSOptions{Labels: labels, Known: known, WarmStart: warm})
	if err != nil {
		return nil, fmt.Errorf("fit annotators: %w", err)
	}
	return res, nil
}

func (st *stageRT) useFit(res *crowd.Result) {
	st.warm = res.Model()
	st.model = st.warm.Shrunk(crowd.DefaultShrink)
	st.labelsNow = res.LabelMap()
	st.fresh = 0
}
