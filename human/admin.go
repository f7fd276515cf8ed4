package human

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/crowd"
	"github.com/myriadhq/myriad/store"
)

var annNameRE = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N} _.@-]{0,62}$`)

// CreateAnnotator adds an annotator and returns its invite token, which
// is not kept: only its hash is stored.
func (s *Service) CreateAnnotator(ctx context.Context, req api.AnnotatorCreate) (*api.AnnotatorCreated, error) {
	if !annNameRE.MatchString(req.Name) {
		return nil, fmt.Errorf("name %q: want 1-63 letters, digits, spaces or _ . @ -, starting with a letter or digit: %w", req.Name, ErrInvalid)
	}
	for k := range req.Labels {
		if k == "" {
			return nil, fmt.Errorf("labels: a label needs a name: %w", ErrInvalid)
		}
	}
	tok, hash := newToken()
	rec := &store.Annotator{ID: newAnnotatorID(), Name: req.Name, TokenHash: hash[:], Labels: req.Labels, CreatedAt: s.clock.Now().UTC().Truncate(time.Millisecond)}
	var reqErr error
	err := s.do(ctx, func(ctx context.Context, tx store.HumanTx) error {
		reqErr = nil
		if s.byName[req.Name] != nil {
			reqErr = fmt.Errorf("annotator %q exists already: %w", req.Name, ErrConflict)
			return nil
		}
		if err := tx.AnnotatorInsert(ctx, rec); err != nil {
			return err
		}
		s.addAnnotatorLocked(rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if reqErr != nil {
		return nil, reqErr
	}
	s.log.Info("annotator added", "annotator", rec.ID, "name", rec.Name)
	return &api.AnnotatorCreated{ID: rec.ID, Name: rec.Name, Token: tok}, nil
}

// SetPaused pauses (with a reason) or resumes an annotator by name or id.
// A paused annotator gets no new items; the ones it holds run out.
func (s *Service) SetPaused(ctx context.Context, who string, paused bool, reason string) (*api.AnnotatorInfo, error) {
	var reqErr error
	var id string
	err := s.do(ctx, func(ctx context.Context, tx store.HumanTx) error {
		reqErr = nil
		a := s.findLocked(who)
		if a == nil {
			reqErr = fmt.Errorf("annotator %q: %w", who, ErrNotFound)
			return nil
		}
		id = a.rec.ID
		rec := a.rec
		rec.Paused, rec.Reason = paused, ""
		if paused {
			rec.Reason = reason
			if rec.Reason == "" {
				rec.Reason = "paused by an operator"
			}
		}
		if err := tx.AnnotatorUpdate(ctx, &rec); err != nil {
			return err
		}
		a.rec = rec
		s.newWork = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	if reqErr != nil {
		return nil, reqErr
	}
	list := s.Annotators()
	for i := range list {
		if list[i].ID == id {
			return &list[i], nil
		}
	}
	return nil, fmt.Errorf("annotator %q: %w", who, ErrNotFound)
}

func (s *Service) findLocked(who string) *annRT {
	if a := s.byName[who]; a != nil {
		return a
	}
	return s.anns[who]
}

// pastStats holds an annotator's record in stages no longer collected.
type pastStats struct {
	answers, skips, gold, goldOK, agreeN, agreeOK int
	accSum, accN                                  float64
	ms                                            []int64
}

const maxMSSamples = 512

func (p *pastStats) addMS(ms int64) {
	if len(p.ms) < maxMSSamples {
		p.ms = append(p.ms, ms)
		return
	}
	p.ms[(p.answers*7919)%maxMSSamples] = ms
}

// statsOf adds one stage's record of each annotator to acc.
func statsOf(st *stageRT, acc map[string]*pastStats, now time.Time, recent map[string]int) {
	labels := st.labelsNow
	if labels == nil {
		labels = st.mvLabels()
	}
	var model *crowd.WorkerModel
	if st.final != nil {
		model = st.final.Model()
	} else if st.warm != nil {
		model = st.warm
	}
	get := func(id string) *pastStats {
		p := acc[id]
		if p == nil {
			p = &pastStats{}
			acc[id] = p
		}
		return p
	}
	for id, sa := range st.anns {
		p := get(id)
		p.answers += sa.answers + sa.goldAnswers
		p.skips += sa.skips
		p.gold += sa.goldAnswers
		p.goldOK += sa.goldCorrect
		if model != nil && sa.answers > 0 {
			if a, known := model.Accuracy(id); known {
				p.accSum += a * float64(sa.answers)
				p.accN += float64(sa.answers)
			}
		}
	}
	for _, it := range st.items {
		if !paidKind(it.rec.Kind) {
			continue
		}
		for _, a := range it.answers {
			p := get(a.ann.rec.ID)
			p.addMS(a.ms)
			if now.Sub(a.answered) < time.Hour && recent != nil {
				recent[a.ann.rec.ID]++
			}
			if l, ok := labels[it.q]; ok && it.rec.Kind == store.HumanTask {
				p.agreeN++
				if l == a.label {
					p.agreeOK++
				}
			}
		}
	}
}

// mvLabels is the majority label of each task item so far.
func (st *stageRT) mvLabels() map[string]string {
	var answers []crowd.Answer
	for _, it := range st.items {
		if it.rec.Kind == store.HumanTask {
			answers = append(answers, st.counted(it)...)
		}
	}
	if len(answers) == 0 {
		return nil
	}
	res, err := crowd.MajorityVote(answers, crowd.MajorityOptions{Labels: st.labels, Seed: 1})
	if err != nil {
		return nil
	}
	return res.LabelMap()
}

// foldStatsLocked keeps the record of a stage that leaves memory.
func (s *Service) foldStatsLocked(st *stageRT) {
	acc := map[string]*pastStats{}
	statsOf(st, acc, s.clock.Now(), nil)
	for id, p := range acc {
		if a := s.anns[id]; a != nil {
			a.past = mergeStats(a.past, p)
		}
	}
}

func mergeStats(a, b *pastStats) *pastStats {
	if a == nil {
		return b
	}
	a.answers += b.answers
	a.skips += b.skips
	a.gold += b.gold
	a.goldOK += b.goldOK
	a.agreeN += b.agreeN
	a.agreeOK += b.agreeOK
	a.accSum += b.accSum
	a.accN += b.accN
	for _, m := range b.ms {
		a.addMS(m)
	}
	return a
}

// Annotators lists every annotator with its record: answers, gold
// accuracy, agreement with the current labels, Dawid-Skene's estimate,
// speed, and whether it is paused.
func (s *Service) Annotators() []api.AnnotatorInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	acc := map[string]*pastStats{}
	recent := map[string]int{}
	for _, st := range s.order {
		statsOf(st, acc, now, recent)
	}
	out := make([]api.AnnotatorInfo, 0, len(s.anns))
	for id, a := range s.anns {
		p := mergeStats(&pastStats{}, orEmpty(a.past))
		if live := acc[id]; live != nil {
			p = mergeStats(p, live)
		}
		info := api.AnnotatorInfo{
			ID: id, Name: a.rec.Name, Labels: a.rec.Labels, Paused: a.rec.Paused, PauseReason: a.rec.Reason,
			Answers: p.answers, Skips: p.skips, GoldAnswers: p.gold, GoldCorrect: p.goldOK,
			AnswersPerHour: recent[id], Leased: len(a.leases), CreatedAt: a.rec.CreatedAt,
		}
		if !a.rec.Paused {
			for _, st := range s.order {
				if sa := st.anns[id]; sa != nil && sa.paused {
					info.Paused, info.PauseReason = true, sa.reason
					break
				}
			}
		}
		if p.gold > 0 {
			info.GoldAccuracy = ptr(float64(p.goldOK) / float64(p.gold))
		}
		if p.agreeN > 0 {
			info.Agreement = ptr(float64(p.agreeOK) / float64(p.agreeN))
		}
		if p.accN > 0 {
			info.EstimatedAccuracy = ptr(p.accSum / p.accN)
		}
		if len(p.ms) > 0 {
			ms := slices.Clone(p.ms)
			slices.Sort(ms)
			info.MedianMS = ms[len(ms)/2]
		}
		if !a.lastSeen.IsZero() {
			t := a.lastSeen.UTC()
			info.LastSeen = &t
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func orEmpty(p *pastStats) *pastStats {
	if p == nil {
		return &pastStats{}
	}
	return p
}

func ptr[T any](v T) *T { return &v }

// loadPastLocked rebuilds annotators' records of stages that have ended.
func (s *Service) loadPastLocked(ctx context.Context) error {
	all, err := s.st.HumanStageList(ctx, false)
	if err != nil {
		return fmt.Errorf("load past stages: %w", err)
	}
	for _, rec := range all {
		if rec.State != store.HumanReported && rec.State != store.HumanCanceled {
			continue
		}
		st, err := s.rebuildStage(ctx, rec)
		if err != nil {
			return err
		}
		if rec.Output != nil {
			st.labelsNow = outputLabels(st, rec.Output)
		}
		s.foldStatsLocked(st)
		s.done[st.key] = "reported"
	}
	return nil
}

// outputLabels reads the final labels of a stage's items from its output.
func outputLabels(st *stageRT, output json.RawMessage) map[string]string {
	var items []struct {
		ID   string `json:"id"`
		Data struct {
			Label *string `json:"label"`
		} `json:"data"`
	}
	if json.Unmarshal(output, &items) != nil {
		return nil
	}
	byItem := map[string]string{}
	for _, it := range st.items {
		if it.rec.Seq >= 0 {
			byItem[it.rec.ItemID] = it.q
		}
	}
	out := map[string]string{}
	for _, it := range items {
		if q, ok := byItem[it.ID]; ok && it.Data.Label != nil {
			out[q] = *it.Data.Label
		}
	}
	return out
}

// JobHuman reports the human stages of a job: progress, annotators and
// budget. Stages still collected are reported live, ended ones from the
// store.
func (s *Service) JobHuman(ctx context.Context, jobID string) ([]api.HumanStageStatus, error) {
	var out []api.HumanStageStatus
	s.mu.Lock()
	live := map[int]bool{}
	for _, st := range s.order {
		if st.key.job == jobID {
			out = append(out, stageStatus(st))
			live[st.key.stage] = true
		}
	}
	s.mu.Unlock()
	all, err := s.st.HumanStageList(ctx, false)
	if err != nil {
		return nil, err
	}
	for _, rec := range all {
		if rec.JobID != jobID || live[rec.Stage] {
			continue
		}
		st, err := s.rebuildStage(ctx, rec)
		if err != nil {
			return nil, err
		}
		out = append(out, stageStatus(st))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Stage < out[j].Stage })
	return out, nil
}

// rebuildStage builds a detached copy of a stage from the store, for
// reports on stages no longer in memory.
func (s *Service) rebuildStage(ctx context.Context, rec *store.HumanStage) (*stageRT, error) {
	tmp := &Service{cfg: s.cfg, st: s.st, log: s.log, clock: s.clock,
		anns: s.anns, asgs: map[int64]*asgRT{}, leased: map[int64]*asgRT{}, stages: map[stageKey]*stageRT{}}
	// The copy's annotators must not be touched: give it shadows.
	tmp.anns = map[string]*annRT{}
	for id, a := range s.anns {
		tmp.anns[id] = &annRT{rec: a.rec}
	}
	if err := tmp.loadStageLocked(ctx, rec); err != nil {
		return nil, err
	}
	return tmp.stages[stageKey{rec.JobID, rec.Stage}], nil
}

var stageStates = map[store.HumanStageState]string{
	store.HumanCollecting: "collecting", store.HumanFinished: "finished",
	store.HumanReported: "reported", store.HumanCanceled: "canceled",
}

func stageStatus(st *stageRT) api.HumanStageStatus {
	h := api.HumanStageStatus{Stage: st.stageName, Title: st.p.Title, State: stageStates[st.rec.State],
		Reward: st.p.Reward, Budget: st.p.Budget, Spent: round6(st.spent()), Currency: st.p.Currency}
	for _, it := range st.items {
		switch it.rec.Kind {
		case store.HumanTask:
			h.Items++
			h.Answers += len(it.answers)
			if it.stopped {
				h.Stopped++
			}
		case store.HumanModel:
			h.Model++
		case store.HumanGold:
			if it.rec.Seq >= 0 {
				h.Gold++
			}
			h.GoldAnswers += len(it.answers)
		}
		if it.rec.Kind == store.HumanTask || it.rec.Kind == store.HumanGold {
			h.Leased += it.leased
		}
	}
	for r, n := range st.stops {
		if n > 0 {
			if h.Stops == nil {
				h.Stops = map[string]int{}
			}
			h.Stops[string(r)] = n
		}
	}
	for _, sa := range st.anns {
		if sa.answers+sa.goldAnswers > 0 {
			h.Annotators++
		}
		if sa.paused {
			h.Paused++
		}
	}
	if st.p.Budget > 0 {
		h.Remaining = ptr(round6(st.p.Budget - st.spent()))
		h.Exhausted = !st.budgetLeft()
	}
	return h
}

// WriteAnswers writes every answer given in a job's human stages as CSV
// with a header: question,worker,answer (what `myriad aggregate` reads),
// then stage, kind (item, gold, qualification), ms and answered_at.
// Workers are named by annotator name.
func (s *Service) WriteAnswers(ctx context.Context, jobID string, w io.Writer) error {
	all, err := s.st.HumanStageList(ctx, false)
	if err != nil {
		return err
	}
	s.mu.Lock()
	names := map[string]string{}
	for id, a := range s.anns {
		names[id] = a.rec.Name
	}
	s.mu.Unlock()
	cw := csv.NewWriter(w)
	cw.Write([]string{"question", "worker", "answer", "stage", "kind", "ms", "answered_at"})
	found := false
	kinds := map[store.HumanItemKind]string{store.HumanTask: "item", store.HumanGold: "gold", store.HumanQualification: "qualification"}
	for _, rec := range all {
		if rec.JobID != jobID {
			continue
		}
		found = true
		var info stageInfo
		json.Unmarshal(rec.Info, &info)
		items, err := s.st.HumanItemList(ctx, rec.JobID, rec.Stage)
		if err != nil {
			return err
		}
		byID := map[int64]*store.HumanItem{}
		for _, it := range items {
			byID[it.ID] = it
		}
		asgs, err := s.st.HumanAssignmentList(ctx, rec.JobID, rec.Stage)
		if err != nil {
			return err
		}
		for _, a := range asgs {
			it := byID[a.Item]
			if a.State != store.AssignAnswered || it == nil {
				continue
			}
			cw.Write([]string{it.ItemID, names[a.Annotator], a.Label, info.StageName, kinds[it.Kind],
				strconv.FormatInt(a.MS, 10), a.AnsweredAt.UTC().Format(time.RFC3339Nano)})
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("job %s has no human stage with answers yet: %w", jobID, ErrNotFound)
	}
	return nil
}

// Stages lists the stages the annotator may work on, with their
// instructions.
func (s *Service) Stages(ann *Annotator) []api.AnnotateStage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []api.AnnotateStage{}
	for _, st := range s.order {
		if st.rec.State != store.HumanCollecting || !s.visibleLocked(st, ann.rt) {
			continue
		}
		as := api.AnnotateStage{ID: st.key.ID(), Title: st.p.Title, Instructions: st.p.Instructions, Rules: st.p.Rules,
			Reward: st.p.Reward, Currency: st.p.Currency, Blocked: s.blockedLocked(st, ann.rt)}
		for _, l := range st.p.Labels {
			al := api.AnnotateLabel{Name: l.Name, Description: l.Description}
			for _, ex := range l.Examples {
				d := api.Display{Text: ex.Text}
				if safeImage(ex.Image) {
					d.Image = ex.Image
				}
				al.Examples = append(al.Examples, d)
			}
			as.Labels = append(as.Labels, al)
		}
		sa := st.anns[ann.ID]
		if len(st.qual) > 0 {
			as.Qualification = qualState(st, sa)
		}
		if sa != nil {
			as.MyAnswers = sa.answers + sa.goldAnswers
		}
		if as.Blocked == "" && st.finalizing {
			as.Blocked = ReasonNoWork
		}
		out = append(out, as)
	}
	return out
}

// Me describes the annotator to itself.
func (s *Service) Me(ann *Annotator) api.Me {
	s.mu.Lock()
	defer s.mu.Unlock()
	ann.rt.lastSeen = s.clock.Now()
	return api.Me{Name: ann.Name, Progress: s.progressLocked(ann.rt, nil)}
}
