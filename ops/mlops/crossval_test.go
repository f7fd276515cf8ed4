package mlops_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/myriadhq/myriad/ml/tune"
)

// TestCrossvalAndSearch: crossval runs one microtask per fold and reduces
// them to mean ± std; search runs trials × folds microtasks, picks the
// trial with the best mean and retrains it on all the data.
func TestCrossvalAndSearch(t *testing.T) {
	t.Parallel()
	e := setup(t, 2, nil)
	ref := e.pack(t, mnistDigits(t, 1000, 180))
	st := e.run(t, fmt.Sprintf(`
input: {items: [{id: digits, dataset: %q}]}
stages:
  - {name: cv, op: crossval, params: {model: %s, k: 3}}
  - name: tune
    op: search
    after: [input]
    params:
      model: %s
      k: 2
      space: [{name: learning_rate, values: [0.001, 0.01]}]
`, ref, quickNet, quickNet))
	mustCompleted(t, st)

	tasks := map[string]int64{}
	for _, s := range st.Stages {
		tasks[s.Name] = s.Counts.Done
	}
	want := map[string]int64{"cv.folds": 1, "cv.fold": 3, "cv": 1, "tune.trials": 1, "tune.trial": 4, "tune.pick": 1, "tune": 1}
	for name, n := range want {
		if tasks[name] != n {
			t.Fatalf("stage %s: %d microtasks done, want %d (stages: %v)", name, tasks[name], n, tasks)
		}
	}

	cv := e.results(t, st.ID, "cv")["digits"]
	acc := field[tune.Summary](t, cv, "accuracy")
	folds := field[[]struct {
		Fold     int
		Accuracy float64
	}](t, cv, "folds")
	if acc.N != 3 || len(folds) != 3 {
		t.Fatalf("crossval summary over %d folds (%d listed), want 3", acc.N, len(folds))
	}
	var scores []float64
	for i, f := range folds {
		if f.Fold != i {
			t.Fatalf("folds out of order: %+v", folds)
		}
		scores = append(scores, f.Accuracy)
	}
	if sum, _ := tune.Summarize(scores); math.Abs(sum.Mean-acc.Mean) > 1e-12 || math.Abs(sum.Std-acc.Std) > 1e-12 || acc.Mean < 0.2 {
		t.Fatalf("crossval accuracy %+v; folds give %+v", acc, sum)
	}

	// Each fold reported its validation curve under its own series.
	series := map[string]bool{}
	for _, p := range e.metrics(t, st.ID) {
		if p.Stage == "cv.fold" && p.Name == "val_accuracy" {
			series[p.Series] = true
		}
	}
	if !series["fold 0"] || !series["fold 1"] || !series["fold 2"] {
		t.Fatalf("fold series: %v", series)
	}

	// The search's winner is the trial with the best mean, and it was
	// retrained on all 180 items.
	final := e.results(t, st.ID, "tune")["digits"]
	trials := field[[]struct {
		Trial    int
		Params   map[string]any
		Accuracy tune.Summary
	}](t, final, "trials")
	t.Logf("crossval %v; trials %+v", acc, trials)
	if len(trials) != 2 {
		t.Fatalf("%d trials, want 2", len(trials))
	}
	best := slices.MaxFunc(trials, func(a, b struct {
		Trial    int
		Params   map[string]any
		Accuracy tune.Summary
	}) int {
		switch {
		case a.Accuracy.Mean != b.Accuracy.Mean:
			return cmpF(a.Accuracy.Mean, b.Accuracy.Mean)
		default:
			return b.Trial - a.Trial
		}
	})
	if got := field[int](t, final, "best_trial"); got != best.Trial {
		t.Fatalf("best_trial %d, but trial %d has the best mean (%+v)", got, best.Trial, trials)
	}
	if got := field[map[string]any](t, final, "params"); got["learning_rate"] != best.Params["learning_rate"] {
		t.Fatalf("retrained with %v, want the winner's %v", got, best.Params)
	}
	if got := field[int](t, final, "trained_on"); got != 180 {
		t.Fatalf("winner retrained on %d items, want all 180", got)
	}
	m := e.modelOf(t, field[blobRef](t, final, "model"))
	if m.Spec.LearningRate != best.Params["learning_rate"] {
		t.Fatalf("model file learning rate %v, want the winner's %v", m.Spec.LearningRate, best.Params["learning_rate"])
	}
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
