package mlops

import (
	"context"
	"fmt"

	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/ml/tune"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// Fields our stages add to the items they fan out; "of" is the id of the
// item a fold, trial or shard belongs to.
const (
	fOf     = "of"
	fFold   = "fold"
	fTrial  = "trial"
	fParams = "params"
)

// folds fans each item out into k fold items (crossval's first part), or
// trials × k items (search's), keeping the item's fields.
func (o *Ops) folds(ctx context.Context, t *worker.Task) ([]task.Item, error) {
	p, base, err := o.taskParams(t)
	if err != nil {
		return nil, err
	}
	trials := []tune.Trial{{ID: -1}}
	if p.Space != nil {
		if trials, err = p.trials(base); err != nil {
			return nil, worker.Permanent(err)
		}
	}
	var out []task.Item
	for _, it := range t.Items {
		for _, tr := range trials {
			for k := range p.k() {
				f := itemFields(it).clone()
				f.set(fOf, it.ID)
				f.set(fFold, k)
				id := fmt.Sprintf("%s/fold%d", it.ID, k)
				if tr.ID >= 0 {
					f.set(fTrial, tr.ID)
					f.set(fParams, tr.Params)
					id = fmt.Sprintf("%s/trial%d/fold%d", it.ID, tr.ID, k)
				}
				item, err := f.item(id)
				if err != nil {
					return nil, worker.Permanent(err)
				}
				out = append(out, item)
			}
		}
	}
	return out, nil
}

// fold trains on all folds but one and validates on that one: one
// microtask of a cross-validation or of a search trial. The validation
// curve is reported per epoch (series "fold F" or "trial T fold F").
func (o *Ops) fold(ctx context.Context, t *worker.Task) ([]task.Item, error) {
	p, base, err := o.taskParams(t)
	if err != nil {
		return nil, err
	}
	out := make([]task.Item, 0, len(t.Items))
	for _, it := range t.Items {
		f := itemFields(it)
		k, err := f.mustInt(fFold)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		spec, err := trialSpec(base, f)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		ref, err := dataRef(p, f)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		data, err := o.data.load(ctx, t.Blobs, ref)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		folds, err := tune.KFold(data.Y, p.k(), p.seed(base))
		if err != nil {
			return nil, worker.Permanent(fmt.Errorf("item %s: %w", it.ID, err))
		}
		if k < 0 || k >= len(folds) {
			return nil, worker.Permanent(fmt.Errorf("item %s: fold %d of %d", it.ID, k, len(folds)))
		}
		train, err := data.Subset(folds[k].Train)
		if err != nil {
			return nil, permanent(err)
		}
		val, err := data.Subset(folds[k].Val)
		if err != nil {
			return nil, permanent(err)
		}
		series := fmt.Sprintf("fold %d", k)
		if trial, ok := intField(f, fTrial); ok {
			series = fmt.Sprintf("trial %d fold %d", trial, k)
		}
		var last ml.Progress
		_, err = ml.Train(ctx, o.backend, spec, train, nil, ml.TrainOptions{
			Validation:  val,
			Parallelism: p.Parallelism,
			Progress: func(pr ml.Progress) {
				if pr.EpochEnd {
					last = pr
					reportEpoch(t, series, pr.Epoch, pr)
				}
			},
		})
		if err != nil {
			return nil, permanent(fmt.Errorf("item %s: fold %d: %w", it.ID, k, err))
		}
		g := f.clone()
		g.set("accuracy", last.ValAccuracy)
		g.set("loss", last.ValLoss)
		g.set("train_accuracy", last.Accuracy)
		g.set("validated_on", val.Len())
		item, err := g.item(it.ID)
		if err != nil {
			return nil, worker.Permanent(err)
		}
		out = append(out, item)
	}
	return out, nil
}

func intField(f fields, name string) (int, bool) {
	var v int
	ok, err := f.get(name, &v)
	return v, ok && err == nil
}

// foldScore is one fold's result as the summaries list it.
type foldScore struct {
	Fold     int     `json:"fold"`
	Accuracy float64 `json:"accuracy"`
	Loss     float64 `json:"loss"`
}

// cvSummary reduces fold results to mean ± std per item: the item's
// fields, then accuracy and loss summaries and the folds.
func (o *Ops) cvSummary(ctx context.Context, t *worker.Task) ([]task.Item, error) {
	keys, groups, err := groupBy(t.Items, fOf)
	if err != nil {
		return nil, worker.Permanent(err)
	}
	var out []task.Item
	for _, of := range keys {
		scores, err := foldScores(groups[of])
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", of, err)
		}
		acc, loss, err := summarize(scores)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", of, err)
		}
		series := ""
		if len(keys) > 1 {
			series = of
		}
		t.SeriesMetric(series, "cv_accuracy_mean", len(scores), acc.Mean)
		t.SeriesMetric(series, "cv_accuracy_std", len(scores), acc.Std)
		g := groups[of][0].clone(fOf, fFold, "accuracy", "loss", "train_accuracy", "validated_on")
		g.set("accuracy", acc)
		g.set("loss", loss)
		g.set("folds", scores)
		g.set("summary", fmt.Sprintf("accuracy %s over %d folds", acc, len(scores)))
		item, err := g.item(of)
		if err != nil {
			return nil, worker.Permanent(err)
		}
		out = append(out, item)
	}
	return out, nil
}

func foldScores(fs []fields) ([]foldScore, error) {
	scores := make([]foldScore, 0, len(fs))
	for _, f := range fs {
		var s foldScore
		var err error
		if s.Fold, err = f.mustInt(fFold); err != nil {
			return nil, err
		}
		if _, err := f.get("accuracy", &s.Accuracy); err != nil {
			return nil, err
		}
		if _, err := f.get("loss", &s.Loss); err != nil {
			return nil, err
		}
		scores = append(scores, s)
	}
	sortBy(scores, func(s foldScore) int { return s.Fold })
	return scores, nil
}

func summarize(scores []foldScore) (acc, loss tune.Summary, err error) {
	a := make([]float64, len(scores))
	l := make([]float64, len(scores))
	for i, s := range scores {
		a[i], l[i] = s.Accuracy, s.Loss
	}
	if acc, err = tune.Summarize(a); err != nil {
		return acc, loss, worker.Permanent(err)
	}
	if loss, err = tune.Summarize(l); err != nil {
		return acc, loss, worker.Permanent(err)
	}
	return acc, loss, nil
}

// trialScore is one trial's cross-validated score in a search's output.
type trialScore struct {
	Trial    int            `json:"trial"`
	Params   map[string]any `json:"params"`
	Accuracy tune.Summary   `json:"accuracy"`
}

// pick reduces a search's trial × fold results to the best trial per
// item (highest mean validation accuracy; ties: lower std, lower trial
// id): the item's fields with params set to the winner's, for the train
// stage that follows to retrain on all the data.
func (o *Ops) pick(ctx context.Context, t *worker.Task) ([]task.Item, error) {
	keys, groups, err := groupBy(t.Items, fOf)
	if err != nil {
		return nil, worker.Permanent(err)
	}
	var out []task.Item
	for _, of := range keys {
		byTrial := map[int][]fields{}
		var trials []int
		params := map[int]map[string]any{}
		for _, f := range groups[of] {
			tr, err := f.mustInt(fTrial)
			if err != nil {
				return nil, fmt.Errorf("item %s: %w", of, err)
			}
			if _, seen := byTrial[tr]; !seen {
				trials = append(trials, tr)
				var p map[string]any
				if _, err := f.get(fParams, &p); err != nil {
					return nil, err
				}
				params[tr] = p
			}
			byTrial[tr] = append(byTrial[tr], f)
		}
		sortBy(trials, func(i int) int { return i })
		var results []tune.Result
		var table []trialScore
		for _, tr := range trials {
			scores, err := foldScores(byTrial[tr])
			if err != nil {
				return nil, fmt.Errorf("item %s trial %d: %w", of, tr, err)
			}
			acc, _, err := summarize(scores)
			if err != nil {
				return nil, fmt.Errorf("item %s trial %d: %w", of, tr, err)
			}
			series := ""
			if len(keys) > 1 {
				series = of
			}
			t.SeriesMetric(series, "trial_accuracy_mean", tr, acc.Mean)
			results = append(results, tune.Result{Trial: tune.Trial{ID: tr, Params: params[tr]}, Score: acc})
			table = append(table, trialScore{Trial: tr, Params: params[tr], Accuracy: acc})
		}
		best, err := tune.Best(results, false)
		if err != nil {
			return nil, worker.Permanent(fmt.Errorf("item %s: %w", of, err))
		}
		g := groups[of][0].clone(fOf, fFold, fTrial, "accuracy", "loss", "train_accuracy", "validated_on")
		g.set(fParams, best.Trial.Params)
		g.set("best_trial", best.Trial.ID)
		g.set("cv_accuracy", best.Score)
		g.set("trials", table)
		item, err := g.item(of)
		if err != nil {
			return nil, worker.Permanent(err)
		}
		out = append(out, item)
	}
	return out, nil
}
