package human

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/myriadhq/myriad/crowd"
	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// Sources of a final label.
const (
	SourceHuman = "human" // aggregated from annotators' answers
	SourceModel = "model" // the upstream model was confident enough
	SourceGold  = "gold"  // a gold question of the job: its known answer
	SourceNone  = "none"  // nobody answered (the budget ran out)
)

// completeLocked reports whether a stage has all it can get: every item
// stopped (or the budget spent) and no item leased. It does not wait for
// the undo window of the last answers: the people are done, and the stage
// (and its job) goes on at once; an undo after that is refused as the
// stage has closed.
func (s *Service) completeLocked(st *stageRT) bool {
	if st.rec.State != store.HumanCollecting || st.finalizing {
		return false
	}
	// Items settle mostly in order: skip those known settled, so that
	// looking again after each change does not read the stage over.
	for st.settledPrefix < len(st.items) && st.items[st.settledPrefix].settled() {
		st.settledPrefix++
	}
	budgetOut := !st.budgetLeft()
	for _, it := range st.items[st.settledPrefix:] {
		if it.rec.Kind != store.HumanTask {
			continue
		}
		if it.leased > 0 || !it.stopped && !budgetOut {
			return false
		}
	}
	return true
}

// snapItem is what labelling needs of one item, copied under the lock.
type snapItem struct {
	rec     store.HumanItem
	q       string
	answers []crowd.Answer
	all     int // answers including excluded ones
}

type stageSnap struct {
	method  crowd.Method
	labels  []string
	items   []snapItem
	weights map[string]float64
}

func (s *Service) snapshotLocked(st *stageRT) *stageSnap {
	sn := &stageSnap{method: st.method, labels: st.labels}
	for _, it := range st.items {
		sn.items = append(sn.items, snapItem{rec: *it.rec, q: it.q, answers: st.counted(it), all: len(it.answers)})
	}
	if g := st.p.Gold; g != nil && g.PausedAnswers == PausedDownweight {
		sn.weights = map[string]float64{}
		for id, sa := range st.anns {
			if sa.paused && sa.goldAnswers > 0 {
				sn.weights[id] = float64(sa.goldCorrect) / float64(sa.goldAnswers)
			}
		}
	}
	return sn
}

// label aggregates a stage's answers and builds its output: one item per
// input item, in input order, labelled with its source and confidence.
func (sn *stageSnap) label(ctx context.Context) ([]task.Item, *crowd.Result, error) {
	var answers []crowd.Answer
	known := crowd.Truth{}
	for _, it := range sn.items {
		switch it.rec.Kind {
		case store.HumanGold:
			known[it.q] = it.rec.Gold
		case store.HumanTask:
		default:
			continue
		}
		answers = append(answers, it.answers...)
	}
	var res, mv *crowd.Result
	if len(answers) > 0 {
		var err error
		mv, err = crowd.MajorityVote(answers, crowd.MajorityOptions{Labels: sn.labels, Weights: sn.weights, Seed: 1})
		if err == nil && sn.method == crowd.MethodDawidSkene && redundant(sn.items) {
			res, err = crowd.DawidSkene(ctx, answers, crowd.DSOptions{Labels: sn.labels, Known: known, Seed: 1})
		} else {
			res = mv
		}
		if err != nil {
			return nil, nil, fmt.Errorf("aggregate answers: %w", err)
		}
	}
	uniform := 1/float64(len(sn.labels)) + 1e-6
	var order []snapItem
	for _, it := range sn.items {
		if it.rec.Seq >= 0 {
			order = append(order, it)
		}
	}
	slices.SortFunc(order, func(a, b snapItem) int { return a.rec.Seq - b.rec.Seq })
	out := make([]task.Item, 0, len(order))
	for _, it := range order {
		f := map[string]any{"answers": it.all}
		switch it.rec.Kind {
		case store.HumanModel:
			f["label"], f["confidence"], f["source"] = it.rec.ModelLabel, round6(it.rec.ModelProb), SourceModel
		case store.HumanGold:
			f["label"], f["confidence"], f["source"] = it.rec.Gold, 1.0, SourceGold
		default:
			r, ok := crowd.ItemResult{}, false
			if res != nil {
				r, ok = res.Item(it.q)
			}
			if !ok {
				f["label"], f["confidence"], f["source"] = nil, 0.0, SourceNone
				break
			}
			if r.Confidence < uniform && res != mv {
				// Dawid-Skene has no information on this item (e.g. one
				// answer, by an annotator seen nowhere else): its
				// majority vote decides.
				r, _ = mv.Item(it.q)
			}
			post := map[string]float64{}
			for i, l := range res.Labels {
				post[l] = round6(r.Posterior[i])
			}
			f["label"], f["confidence"], f["source"], f["posterior"] = r.Label, round6(r.Confidence), SourceHuman, post
		}
		if it.rec.HasModel && it.rec.Kind != store.HumanModel {
			f["model_label"], f["model_probability"] = it.rec.ModelLabel, round6(it.rec.ModelProb)
		}
		data, err := withLabel(it.rec.Data, f)
		if err != nil {
			return nil, nil, fmt.Errorf("item %q: %w", it.rec.ItemID, err)
		}
		out = append(out, task.Item{ID: it.rec.ItemID, Data: data})
	}
	return out, res, nil
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// withLabel adds the label fields to an item: into the item itself when
// it is an object (replacing fields of the same name, so a model's
// "label" becomes the final one), else beside it as "item".
func withLabel(data json.RawMessage, f map[string]any) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		obj = map[string]json.RawMessage{"item": data}
	}
	for k, v := range f {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		obj[k] = b
	}
	return json.Marshal(obj)
}

// finalize labels a complete stage, stores the labels and hands them to
// the bridge to complete the stage's microtask.
func (s *Service) finalize(ctx context.Context, st *stageRT) error {
	s.mu.Lock()
	sn := s.snapshotLocked(st)
	s.mu.Unlock()
	out, res, err := sn.label(ctx)
	if err == nil {
		var b []byte
		if b, err = json.Marshal(out); err == nil {
			err = s.do(ctx, func(ctx context.Context, tx store.HumanTx) error {
				now := s.clock.Now()
				for _, a := range s.leased {
					if a.stage == st {
						if err := s.moveLocked(ctx, tx, a, store.AssignWithdrawn, "", 0, now); err != nil {
							return err
						}
					}
				}
				st.rec.State, st.rec.Output, st.rec.FinishedAt = store.HumanFinished, b, now.UTC()
				if res != nil {
					st.labelsNow = res.LabelMap()
					st.final = res
				}
				return tx.HumanStageUpdate(ctx, &st.rec)
			})
		}
	}
	if err != nil {
		s.mu.Lock()
		st.finalizing = false
		if st.rec.State == store.HumanFinished {
			st.rec.State, st.rec.Output = store.HumanCollecting, nil
		}
		s.mu.Unlock()
		return fmt.Errorf("finish stage %s of job %s: %w", st.stageName, st.key.job, err)
	}
	s.log.Info("human stage labelled", "job", st.key.job, "stage", st.stageName, "items", len(out), "answers", st.paid)
	s.kickBridge()
	return nil
}

// redundant reports whether Dawid-Skene has anything to learn from: an
// item answered by two or more people, or a gold question answered. Without
// either, every annotator's confusion matrix is estimated from their own
// answers alone, which does not identify it, and EM moves single answers
// to other labels (with one annotator labelling ten digit classes, 10–30 %
// of the answers came out changed); the majority vote, which keeps each
// answer, is used instead.
func redundant(items []snapItem) bool {
	for _, it := range items {
		switch it.rec.Kind {
		case store.HumanGold:
			if len(it.answers) > 0 {
				return true
			}
		case store.HumanTask:
			if len(it.answers) > 1 {
				return true
			}
		}
	}
	return false
}
