package gorgonia_test

import (
	"context"
	"testing"

	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/ml/internal/mltest"
	"github.com/myriadhq/myriad/ml/tune"
)

// The crossval and search operators end to end, in-process: a 2-trial
// grid × 2 folds, each fold a train + evaluate, scores summarised, the
// best trial chosen. A learning rate of 1e-7 cannot learn in three epochs,
// so the search must pick the other trial.
func TestCrossValidatedSearchPicksTheWorkingConfig(t *testing.T) {
	t.Parallel()
	data := mltest.Digits(t, 7000, 240)
	base := mltest.TinySpec(t)
	base.Epochs = 3
	trials, err := tune.Grid(tune.Space{{Name: "learning_rate", Values: []any{1e-7, 0.003}}})
	if err != nil {
		t.Fatal(err)
	}
	folds, err := tune.KFold(data.Y, 2, base.Seed)
	if err != nil {
		t.Fatal(err)
	}
	var results []tune.Result
	for _, tr := range trials {
		spec, err := base.WithParams(tr.Params)
		if err != nil {
			t.Fatal(err)
		}
		var scores []float64
		for _, f := range folds {
			trainSet, err := data.Subset(f.Train)
			if err != nil {
				t.Fatal(err)
			}
			valSet, err := data.Subset(f.Val)
			if err != nil {
				t.Fatal(err)
			}
			m, err := ml.Train(context.Background(), backend, spec, trainSet, nil, ml.TrainOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ev, err := m.Evaluate(context.Background(), backend, valSet)
			if err != nil {
				t.Fatal(err)
			}
			scores = append(scores, ev.Accuracy)
		}
		s, err := tune.Summarize(scores)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("trial %d %v: accuracy %v", tr.ID, tr.Params, s)
		results = append(results, tune.Result{Trial: tr, Score: s})
	}
	best, err := tune.Best(results, false)
	if err != nil {
		t.Fatal(err)
	}
	if best.Trial.Params["learning_rate"] != 0.003 || best.Score.Mean < 0.3 {
		t.Errorf("best trial %v with %v, want learning_rate 0.003 well above chance (0.1)", best.Trial.Params, best.Score)
	}
}
