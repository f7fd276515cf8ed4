package crowd

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// DefaultColdAccuracy is the accuracy ReplayAdaptive assumes of every
// annotator before the first fit: better than chance, far from reliable.
const DefaultColdAccuracy = 0.7

// ReplayOptions configures ReplayAdaptive.
type ReplayOptions struct {
	// Policy decides per item when to stop asking.
	Policy RedundancyPolicy
	// RefitEvery is the online Estimator's refit period in answers
	// (0 means DefaultRefitEvery).
	RefitEvery int
	// Shrink is the online Estimator's shrinkage (0 means DefaultShrink,
	// negative none).
	Shrink float64
	// ColdAccuracy is the accuracy of the SymmetricModel used before the
	// first fit (0 means DefaultColdAccuracy).
	ColdAccuracy float64
	// DS configures the online fits and the final aggregation. Its Labels
	// default to the sorted set of labels in the whole answer set: the
	// task's label set, known before any answer is collected.
	DS DSOptions
}

// ReplayReport is the outcome of replaying an answer set.
type ReplayReport struct {
	// Items is the number of items; Available the answers in the input;
	// Used the answers the policy consumed.
	Items, Available, Used int
	// Stops counts the items by why they stopped; an item that ran out of
	// recorded answers before the policy was satisfied counts under
	// "exhausted".
	Stops map[StopReason]int
	// Result is the Dawid-Skene aggregation of the used answers.
	Result *Result
	// Eval is Result evaluated against the truth given (zero if none).
	Eval Evaluation
}

// StopExhausted marks, in a replay, an item whose recorded answers ran out
// while the policy still wanted more.
const StopExhausted StopReason = "exhausted"

// ReplayAdaptive replays recorded answers as if they were being collected
// under an adaptive redundancy policy. Items are visited in order of first
// appearance and each item's answers are revealed one at a time in input
// order; after each, the policy decides with the online Estimator's model
// of the answers revealed so far (refitted every RefitEvery answers,
// cold SymmetricModel before the first fit) whether the item needs
// another. The used answers are then aggregated with Dawid-Skene and, if
// truth is non-nil, evaluated.
//
// Items are visited one after another rather than interleaved as a live
// crowd would answer them, which is the pessimistic case for the online
// estimates: early items are judged with the least information.
func ReplayAdaptive(ctx context.Context, answers []Answer, truth Truth, opts ReplayOptions) (*ReplayReport, error) {
	if err := opts.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	items, byItem := groupByItem(answers)
	ds := opts.DS
	if len(ds.Labels) == 0 {
		ds.Labels = answeredLabels(answers)
	}
	cold, err := SymmetricModel(ds.Labels, cmp.Or(opts.ColdAccuracy, DefaultColdAccuracy))
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	est, err := NewEstimator(EstimatorOptions{DS: ds, RefitEvery: opts.RefitEvery, Shrink: opts.Shrink, Cold: cold})
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	rep := &ReplayReport{Items: len(items), Available: len(answers), Stops: map[StopReason]int{}}
	used := make([]Answer, 0, len(answers))
	for _, q := range items {
		all := byItem[q]
		n := 0
		reason := StopExhausted
		for n < len(all) {
			est.Add(all[n])
			n++
			m, err := est.Model(ctx)
			if err != nil {
				return nil, fmt.Errorf("replay: %w", err)
			}
			if d := opts.Policy.Decide(all[:n], m); !d.NeedMore {
				reason = d.Reason
				break
			}
		}
		rep.Stops[reason]++
		used = append(used, all[:n]...)
	}
	return finishReplay(ctx, rep, used, truth, ds)
}

// ReplayFixed is the fixed-redundancy baseline of ReplayAdaptive: each
// item keeps its first k answers in input order (all of them if it has
// fewer), aggregated with Dawid-Skene.
func ReplayFixed(ctx context.Context, answers []Answer, truth Truth, k int, ds DSOptions) (*ReplayReport, error) {
	if k < 1 {
		return nil, fmt.Errorf("replay: %w: k %d, want ≥ 1", ErrInput, k)
	}
	items, byItem := groupByItem(answers)
	if len(ds.Labels) == 0 {
		ds.Labels = answeredLabels(answers)
	}
	rep := &ReplayReport{Items: len(items), Available: len(answers), Stops: map[StopReason]int{}}
	used := make([]Answer, 0, len(answers))
	for _, q := range items {
		all := byItem[q]
		n := min(k, len(all))
		if n == k {
			rep.Stops[StopMaxAnswers]++
		} else {
			rep.Stops[StopExhausted]++
		}
		used = append(used, all[:n]...)
	}
	return finishReplay(ctx, rep, used, truth, ds)
}

func finishReplay(ctx context.Context, rep *ReplayReport, used []Answer, truth Truth, ds DSOptions) (*ReplayReport, error) {
	rep.Used = len(used)
	res, err := DawidSkene(ctx, used, ds)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	rep.Result = res
	if truth != nil {
		rep.Eval = Evaluate(res, truth)
	}
	return rep, nil
}

// groupByItem returns the questions in order of first appearance and each
// question's answers in input order.
func groupByItem(answers []Answer) ([]string, map[string][]Answer) {
	var items []string
	by := map[string][]Answer{}
	for _, a := range answers {
		if _, ok := by[a.Question]; !ok {
			items = append(items, a.Question)
		}
		by[a.Question] = append(by[a.Question], a)
	}
	return items, by
}

func answeredLabels(answers []Answer) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range answers {
		if !seen[a.Label] {
			seen[a.Label] = true
			out = append(out, a.Label)
		}
	}
	slices.Sort(out)
	return out
}
