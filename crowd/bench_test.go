package crowd

import (
	"context"
	"fmt"
	"testing"
)

// RTE-sized synthetic input: 800 items, 10 answers each from a crowd of
// 164 annotators, like the RTE set, so the benchmark runs without the
// shared data too.
func rteSized(b testing.TB) []Answer {
	sim, err := NewSimulator(1, []string{"0", "1"})
	if err != nil {
		b.Fatal(err)
	}
	crowd, err := sim.Crowd(CrowdConfig{Honest: 150, MinAccuracy: 0.55, MaxAccuracy: 0.95, RandomSpammers: 10, ConstantSpammers: 4})
	if err != nil {
		b.Fatal(err)
	}
	truth := Truth{}
	for i := range 800 {
		truth[itemName(i)] = fmt.Sprint(i % 2)
	}
	answers, err := sim.Collect(crowd, truth, 10)
	if err != nil {
		b.Fatal(err)
	}
	return answers
}

func BenchmarkDawidSkeneRTE(b *testing.B) {
	answers, _ := loadSet(b, "RTE")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DawidSkene(ctx, answers, DSOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(answers)), "answers/op")
}

func BenchmarkDawidSkeneSynthetic(b *testing.B) {
	answers := rteSized(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DawidSkene(ctx, answers, DSOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// A periodic refit of the online estimator: all of RTE, warm-started from
// a fit of its first 90%.
func BenchmarkDawidSkeneWarmRefit(b *testing.B) {
	answers, _ := loadSet(b, "RTE")
	ctx := context.Background()
	prev, err := DawidSkene(ctx, answers[:len(answers)*9/10], DSOptions{})
	if err != nil {
		b.Fatal(err)
	}
	warm := prev.Model()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DawidSkene(ctx, answers, DSOptions{WarmStart: warm}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMajorityVoteRTE(b *testing.B) {
	answers, _ := loadSet(b, "RTE")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MajorityVote(answers, MajorityOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// One redundancy decision, as the engine makes after every answer.
func BenchmarkRedundancyDecide(b *testing.B) {
	answers, _ := loadSet(b, "RTE")
	ctx := context.Background()
	res, err := DawidSkene(ctx, answers, DSOptions{})
	if err != nil {
		b.Fatal(err)
	}
	model := res.Model().Shrunk(DefaultShrink)
	item := answers[:5]
	policy := RedundancyPolicy{Threshold: 0.95, MinAnswers: 3, MaxAnswers: 10}
	b.ReportAllocs()
	for b.Loop() {
		policy.Decide(item, model)
	}
}

func BenchmarkReplayAdaptiveRTE(b *testing.B) {
	answers, truth := loadSet(b, "RTE")
	ctx := context.Background()
	opts := ReplayOptions{Policy: RedundancyPolicy{Threshold: 0.95, MinAnswers: 3, MaxAnswers: 10}}
	for b.Loop() {
		if _, err := ReplayAdaptive(ctx, answers, truth, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReplayTable prints (to stdout: the benchmark log truncates)
// the figures of docs/crowd.md: accuracy per
// method on RTE and TEMP, and answers used versus accuracy for fixed k and
// for the adaptive policy (with and without shrinkage). Run it once:
//
//	go test ./crowd -run '^$' -bench ReplayTable -benchtime 1x
func BenchmarkReplayTable(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		for _, set := range []string{"RTE", "TEMP"} {
			answers, truth := loadSet(b, set)
			ds, err := DawidSkene(ctx, answers, DSOptions{})
			if err != nil {
				b.Fatal(err)
			}
			ev := Evaluate(ds, truth)
			fmt.Printf("%s Dawid-Skene: %d/%d = %.4f (%d iterations)\n", set, ev.Correct, ev.Compared, ev.Accuracy, ds.Iterations)
			lo, hi, sum := 1.0, 0.0, 0.0
			for seed := range uint64(100) {
				mv, err := MajorityVote(answers, MajorityOptions{Seed: seed})
				if err != nil {
					b.Fatal(err)
				}
				a := Evaluate(mv, truth).Accuracy
				lo, hi, sum = min(lo, a), max(hi, a), sum+a
			}
			fmt.Printf("%s majority vote over 100 tie seeds: min %.4f, mean %.4f, max %.4f\n", set, lo, sum/100, hi)
			for k := 1; k <= 10; k++ {
				r, err := ReplayFixed(ctx, answers, truth, k, DSOptions{})
				if err != nil {
					b.Fatal(err)
				}
				fmt.Printf("%s fixed k=%-2d           answers %5d  accuracy %.4f\n", set, k, r.Used, r.Eval.Accuracy)
			}
			for _, shrink := range []float64{-1, 0} {
				for _, th := range []float64{0.9, 0.95, 0.99} {
					for _, m := range []int{2, 3} {
						p := RedundancyPolicy{Threshold: th, MinAnswers: m, MaxAnswers: 10}
						r, err := ReplayAdaptive(ctx, answers, truth, ReplayOptions{Policy: p, Shrink: shrink})
						if err != nil {
							b.Fatal(err)
						}
						name := "shrink 10"
						if shrink < 0 {
							name = "no shrink"
						}
						fmt.Printf("%s adaptive %.2f m=%d %s answers %5d  accuracy %.4f  stops %v\n", set, th, m, name, r.Used, r.Eval.Accuracy, r.Stops)
					}
				}
			}
		}
	}
}
