package crowd

import (
	"context"
	"testing"
)

// TestRTE checks the published figure: Dawid-Skene on the RTE answers of
// Snow et al. (2008) reaches 0.9275; majority vote, whatever the seed of
// its tie-breaks, stays below it.
func TestRTE(t *testing.T) {
	t.Parallel()
	answers, truth := loadSet(t, "RTE")
	ds, err := DawidSkene(context.Background(), answers, DSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ev := Evaluate(ds, truth)
	t.Logf("RTE Dawid-Skene: %d/%d = %.4f in %d iterations (converged %v)", ev.Correct, ev.Compared, ev.Accuracy, ds.Iterations, ds.Converged)
	if ev.Compared != 800 || ev.Unlabelled != 0 {
		t.Fatalf("compared %d questions (%d unlabelled), want all 800", ev.Compared, ev.Unlabelled)
	}
	if ev.Accuracy < 0.92 {
		t.Errorf("Dawid-Skene accuracy %.4f, want ≥ 0.92", ev.Accuracy)
	}
	for seed := range uint64(20) {
		mv, err := MajorityVote(answers, MajorityOptions{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		mvAcc := Evaluate(mv, truth).Accuracy
		if seed < 3 {
			t.Logf("RTE majority vote (seed %d): %.4f", seed, mvAcc)
		}
		if mvAcc >= ev.Accuracy {
			t.Errorf("majority vote with seed %d: %.4f, not below Dawid-Skene's %.4f", seed, mvAcc, ev.Accuracy)
		}
	}
}

// TestTEMP reports both methods on the temporal-ordering answers. The two
// are close on this set (its annotators are more uniform); the test
// guards against regressions, it does not rank them.
func TestTEMP(t *testing.T) {
	t.Parallel()
	answers, truth := loadSet(t, "TEMP")
	ds, err := DawidSkene(context.Background(), answers, DSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mv, err := MajorityVote(answers, MajorityOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dsEv, mvEv := Evaluate(ds, truth), Evaluate(mv, truth)
	t.Logf("TEMP Dawid-Skene: %d/%d = %.4f in %d iterations; majority vote (seed 0): %d/%d = %.4f",
		dsEv.Correct, dsEv.Compared, dsEv.Accuracy, ds.Iterations, mvEv.Correct, mvEv.Compared, mvEv.Accuracy)
	if dsEv.Compared != 462 {
		t.Fatalf("compared %d questions, want 462", dsEv.Compared)
	}
	if dsEv.Accuracy < 0.93 || mvEv.Accuracy < 0.92 {
		t.Errorf("Dawid-Skene %.4f, majority vote %.4f: want ≥ 0.93 and ≥ 0.92", dsEv.Accuracy, mvEv.Accuracy)
	}
}

// TestReplayRTE replays the RTE answers in file order with the adaptive
// policy and with fixed k = 10 (all answers), both aggregated by
// Dawid-Skene: adaptive must use fewer answers and lose at most one point
// of accuracy.
func TestReplayRTE(t *testing.T) {
	t.Parallel()
	answers, truth := loadSet(t, "RTE")
	ctx := context.Background()
	fixed, err := ReplayFixed(ctx, answers, truth, 10, DSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	policy := RedundancyPolicy{Threshold: 0.95, MinAnswers: 3, MaxAnswers: 10}
	adaptive, err := ReplayAdaptive(ctx, answers, truth, ReplayOptions{Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("RTE fixed k=10: %d answers, accuracy %.4f", fixed.Used, fixed.Eval.Accuracy)
	t.Logf("RTE adaptive %+v: %d answers (%.1f%% saved), accuracy %.4f, stops %v",
		policy, adaptive.Used, 100*(1-float64(adaptive.Used)/float64(fixed.Used)), adaptive.Eval.Accuracy, adaptive.Stops)
	if fixed.Used != 8000 || adaptive.Available != 8000 {
		t.Fatalf("fixed used %d, adaptive saw %d; want 8000", fixed.Used, adaptive.Available)
	}
	if adaptive.Used >= fixed.Used {
		t.Errorf("adaptive used %d answers, fixed %d: nothing saved", adaptive.Used, fixed.Used)
	}
	if adaptive.Eval.Accuracy < fixed.Eval.Accuracy-0.01 {
		t.Errorf("adaptive accuracy %.4f, more than a point below fixed %.4f", adaptive.Eval.Accuracy, fixed.Eval.Accuracy)
	}
	if n := adaptive.Stops[StopConfident] + adaptive.Stops[StopMaxAnswers] + adaptive.Stops[StopExhausted]; n != 800 {
		t.Errorf("stops %v cover %d items, want 800", adaptive.Stops, n)
	}
}
