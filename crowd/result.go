package crowd

import (
	"fmt"
	"slices"
)

// Method names an aggregation method.
type Method string

const (
	// MethodMajority is (optionally weighted) majority vote.
	MethodMajority Method = "mv"
	// MethodDawidSkene is Dawid & Skene's EM estimator (1979).
	MethodDawidSkene Method = "ds"
)

// ParseMethod accepts a method's short name or a spelled-out alias:
// "mv", "majority", "majority-vote"; "ds", "dawid-skene".
func ParseMethod(s string) (Method, error) {
	switch s {
	case "mv", "majority", "majority-vote", "majority_vote":
		return MethodMajority, nil
	case "ds", "dawid-skene", "dawid_skene", "dawidskene":
		return MethodDawidSkene, nil
	}
	return "", fmt.Errorf("%w: unknown aggregation method %q (want mv or ds)", ErrInput, s)
}

// Result is the outcome of aggregating an answer set.
type Result struct {
	// Method is the method that produced the result.
	Method Method
	// Labels is the label set. Posteriors, Priors and the rows and columns
	// of confusion matrices follow this order.
	Labels []string
	// Items holds one entry per question, in order of first appearance in
	// the answers.
	Items []ItemResult
	// Workers holds one entry per worker, in order of first appearance.
	Workers []WorkerResult
	// Priors are the class priors: estimated by Dawid-Skene; the share of
	// the items' posteriors (vote shares) per label for majority vote.
	Priors []float64
	// Iterations is the number of EM iterations run (0 for majority vote).
	Iterations int
	// Converged reports whether EM stopped because the posteriors moved
	// less than the tolerance, not because it hit the iteration cap.
	// Always true for majority vote.
	Converged bool
	// Objective is Dawid-Skene's final penalised log-likelihood (the
	// log-likelihood of the answers plus the log-density of the smoothing
	// prior); 0 for majority vote.
	Objective float64

	item   map[string]int
	worker map[string]int
}

// ItemResult is the aggregate label of one question.
type ItemResult struct {
	Question string
	// Label is the label with the largest posterior (vote share for
	// majority vote); ties are broken as documented on MajorityVote.
	Label string
	// Confidence is Posterior's entry for Label.
	Confidence float64
	// Posterior is the distribution over Result.Labels: Dawid-Skene's
	// posterior class probabilities, or majority vote's vote shares.
	Posterior []float64
	// Answers is the number of answers the question received.
	Answers int
}

// WorkerResult is the estimated quality of one worker.
type WorkerResult struct {
	Worker  string
	Answers int
	// Accuracy is the probability that the worker answers an item
	// correctly: Σ_k prior_k · Confusion[k][k]. For majority vote it is
	// the share of the worker's answers that agree with the vote.
	Accuracy float64
	// Confusion[k][l] is the probability that the worker answers
	// Labels[l] when the true label is Labels[k]; each row sums to 1.
	Confusion [][]float64
	// Support[k] is the number of the worker's answers that row k of
	// Confusion rests on: Σ_i T_ik·n_ij, the expected number of its
	// answers to items whose true label is Labels[k] (for majority vote,
	// its answers to items the vote labelled Labels[k]).
	Support []float64
}

// Item returns the result for a question.
func (r *Result) Item(question string) (ItemResult, bool) {
	i, ok := r.item[question]
	if !ok {
		return ItemResult{}, false
	}
	return r.Items[i], true
}

// Worker returns the quality estimate of a worker.
func (r *Result) Worker(worker string) (WorkerResult, bool) {
	i, ok := r.worker[worker]
	if !ok {
		return WorkerResult{}, false
	}
	return r.Workers[i], true
}

// LabelMap returns question → aggregate label.
func (r *Result) LabelMap() map[string]string {
	m := make(map[string]string, len(r.Items))
	for _, it := range r.Items {
		m[it.Question] = it.Label
	}
	return m
}

// Model returns the result's worker quality estimates as a WorkerModel,
// the form RedundancyPolicy and WarmStart take. Its Fallback, used for
// workers the result has not seen, is the pooled confusion matrix of the
// crowd: row k is the Support-weighted average of the workers' rows k,
// the "typical worker" of this crowd.
func (r *Result) Model() *WorkerModel {
	k := len(r.Labels)
	m := &WorkerModel{
		Labels:    slices.Clone(r.Labels),
		Priors:    slices.Clone(r.Priors),
		Confusion: make(map[string][][]float64, len(r.Workers)),
		Support:   make(map[string][]float64, len(r.Workers)),
		Fallback:  newMatrix(k),
	}
	rowTotal := make([]float64, k)
	for _, w := range r.Workers {
		m.Confusion[w.Worker] = cloneMatrix(w.Confusion)
		m.Support[w.Worker] = slices.Clone(w.Support)
		for a := range k {
			rowTotal[a] += w.Support[a]
			for b := range k {
				m.Fallback[a][b] += w.Support[a] * w.Confusion[a][b]
			}
		}
	}
	for a := range k {
		for b := range k {
			if rowTotal[a] > 0 {
				m.Fallback[a][b] /= rowTotal[a]
			} else {
				m.Fallback[a][b] = 1 / float64(k) // nobody saw this class: no information
			}
		}
	}
	return m
}

// finish builds the lookup maps; every constructor of a Result calls it.
func (r *Result) finish() {
	r.item = make(map[string]int, len(r.Items))
	for i, it := range r.Items {
		r.item[it.Question] = i
	}
	r.worker = make(map[string]int, len(r.Workers))
	for i, w := range r.Workers {
		r.worker[w.Worker] = i
	}
}

func newMatrix(k int) [][]float64 {
	m := make([][]float64, k)
	flat := make([]float64, k*k)
	for i := range m {
		m[i] = flat[i*k : (i+1)*k : (i+1)*k]
	}
	return m
}

func cloneMatrix(src [][]float64) [][]float64 {
	m := newMatrix(len(src))
	for i := range src {
		copy(m[i], src[i])
	}
	return m
}
