package crowd

import (
	"context"
	"math"
	"testing"
)

func TestRedundancyPolicyDecide(t *testing.T) {
	t.Parallel()
	sym, err := SymmetricModel([]string{"no", "yes"}, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	p := RedundancyPolicy{Threshold: 0.95, MinAnswers: 3, MaxAnswers: 5}
	ans := func(labels ...string) []Answer {
		var out []Answer
		for i, l := range labels {
			out = append(out, Answer{"q", string(rune('a' + i)), l})
		}
		return out
	}
	// Under a symmetric 0.8 model, n more "yes" than "no" answers give
	// yes a posterior of 0.8^n / (0.8^n + 0.2^n): 0.8, 0.941, 0.985.
	tests := []struct {
		name    string
		answers []Answer
		model   *WorkerModel
		more    bool
		reason  StopReason
		conf    float64
	}{
		{"no answers", nil, sym, true, Continue, 0.5},
		{"two agree: 0.941 < 0.95", ans("yes", "yes"), sym, true, Continue, 16.0 / 17},
		{"three agree: 0.985", ans("yes", "yes", "yes"), sym, false, StopConfident, 64.0 / 65},
		{"2-1: 0.8", ans("yes", "no", "yes"), sym, true, Continue, 0.8},
		{"3-1: 0.941", ans("yes", "no", "yes", "yes"), sym, true, Continue, 16.0 / 17},
		{"max answers even if split", ans("yes", "no", "yes", "no", "yes"), sym, false, StopMaxAnswers, 0.8},
		{"unknown labels do not count towards m", ans("yes", "maybe", "yes", "yes"), sym, false, StopConfident, 64.0 / 65},
		{"nil model: fixed redundancy", ans("yes", "yes", "yes", "yes"), nil, true, Continue, 0},
		{"nil model stops at max", ans("yes", "yes", "yes", "yes", "yes"), nil, false, StopMaxAnswers, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := p.Decide(tt.answers, tt.model)
			if d.NeedMore != tt.more || d.Reason != tt.reason || !near(d.Confidence, tt.conf, 1e-9) {
				t.Errorf("got need-more %v reason %q confidence %.4f, want %v %q %.4f", d.NeedMore, d.Reason, d.Confidence, tt.more, tt.reason, tt.conf)
			}
			if p.NeedMore(tt.answers, tt.model) != tt.more {
				t.Error("NeedMore disagrees with Decide")
			}
		})
	}
	if d := p.Decide(ans("yes", "maybe", "yes"), sym); d.Used != 2 || d.Answers != 3 {
		t.Errorf("used %d of %d answers, want 2 of 3", d.Used, d.Answers)
	}
}

func TestRedundancyPolicyUsesWorkerQuality(t *testing.T) {
	t.Parallel()
	m, err := SymmetricModel([]string{"a", "b"}, 0.7)
	if err != nil {
		t.Fatal(err)
	}
	m.Confusion = map[string][][]float64{
		"expert":  {{0.99, 0.01}, {0.01, 0.99}},
		"spammer": {{0.5, 0.5}, {0.5, 0.5}},
	}
	p := RedundancyPolicy{Threshold: 0.95, MinAnswers: 1, MaxAnswers: 10}
	if p.NeedMore([]Answer{{"q", "expert", "b"}}, m) {
		t.Error("one expert answer (0.99) should be enough")
	}
	if !p.NeedMore([]Answer{{"q", "newcomer", "b"}}, m) {
		t.Error("one answer from an unknown 0.7 worker should not be enough")
	}
	spam := []Answer{{"q", "spammer", "b"}, {"q", "spammer", "b"}, {"q", "spammer", "b"}, {"q", "spammer", "b"}}
	if d := p.Decide(spam, m); !d.NeedMore || !near(d.Confidence, 0.5, 1e-12) {
		t.Errorf("spammer answers moved the posterior to %.3f", d.Confidence)
	}
	// The expert outweighs two ordinary workers disagreeing with it.
	d := p.Decide([]Answer{{"q", "x", "a"}, {"q", "y", "a"}, {"q", "expert", "b"}}, m)
	if d.Label != "b" {
		t.Errorf("label %s, want the expert's b", d.Label)
	}
}

func TestRedundancyPolicyValidate(t *testing.T) {
	t.Parallel()
	bad := []RedundancyPolicy{
		{Threshold: 0, MinAnswers: 1, MaxAnswers: 3},
		{Threshold: 1, MinAnswers: 1, MaxAnswers: 3},
		{Threshold: math.NaN(), MinAnswers: 1, MaxAnswers: 3},
		{Threshold: 0.9, MinAnswers: 0, MaxAnswers: 3},
		{Threshold: 0.9, MinAnswers: 4, MaxAnswers: 3},
	}
	for _, p := range bad {
		if p.Validate() == nil {
			t.Errorf("%+v accepted", p)
		}
	}
	if err := (RedundancyPolicy{Threshold: 0.9, MinAnswers: 3, MaxAnswers: 3}).Validate(); err != nil {
		t.Errorf("valid policy rejected: %v", err)
	}
	if _, err := ReplayAdaptive(context.Background(), []Answer{{"q", "w", "a"}}, nil, ReplayOptions{}); err == nil {
		t.Error("replay with a zero policy accepted")
	}
}

func TestReplaySimulated(t *testing.T) {
	t.Parallel()
	// A crowd of honest annotators of accuracy 0.65..0.95 and a few
	// random spammers: the adaptive policy spends answers on the items in
	// doubt, so it beats fixed redundancy at the same budget.
	sim, err := NewSimulator(9, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	crowd, err := sim.Crowd(CrowdConfig{Honest: 40, MinAccuracy: 0.65, MaxAccuracy: 0.95, RandomSpammers: 5})
	if err != nil {
		t.Fatal(err)
	}
	truth := Truth{}
	for i := range 600 {
		truth[itemName(i)] = []string{"a", "b"}[i%2]
	}
	answers, err := sim.Collect(crowd, truth, 10)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fixed, err := ReplayFixed(ctx, answers, truth, 6, DSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	adaptive, err := ReplayAdaptive(ctx, answers, truth, ReplayOptions{Policy: RedundancyPolicy{Threshold: 0.95, MinAnswers: 3, MaxAnswers: 10}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("simulated: fixed k=6 %d answers %.4f; adaptive %d answers %.4f %v", fixed.Used, fixed.Eval.Accuracy, adaptive.Used, adaptive.Eval.Accuracy, adaptive.Stops)
	if fixed.Used != 3600 || fixed.Stops[StopMaxAnswers] != 600 {
		t.Fatalf("fixed k=6 used %d answers, stops %v; want 3600 and 600 max-answers", fixed.Used, fixed.Stops)
	}
	if adaptive.Used >= fixed.Used || adaptive.Eval.Accuracy <= fixed.Eval.Accuracy {
		t.Errorf("adaptive: %d answers, accuracy %.4f; want fewer answers and a higher accuracy than fixed k=6", adaptive.Used, adaptive.Eval.Accuracy)
	}
	// The threshold is a calibrated knob: 0.95 gives about 95% or more.
	if adaptive.Eval.Accuracy < 0.94 {
		t.Errorf("adaptive accuracy %.4f at threshold 0.95", adaptive.Eval.Accuracy)
	}
}
