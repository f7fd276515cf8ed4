package crowd

import (
	"fmt"
	"math"
	"slices"
)

// WorkerModel is what is known of a crowd's quality at some moment: class
// priors and a confusion matrix per worker. Result.Model builds one from an
// aggregation, SymmetricModel builds a cold-start one, and an Estimator
// keeps one up to date as answers arrive. RedundancyPolicy and
// DSOptions.WarmStart read it. A WorkerModel is not modified by this
// package after construction, so one value may be shared by goroutines.
type WorkerModel struct {
	// Labels is the label set; Priors and every matrix follow its order.
	Labels []string
	// Priors are the class priors; they sum to 1.
	Priors []float64
	// Confusion maps a worker to its confusion matrix: Confusion[w][k][l]
	// is the probability that w answers Labels[l] when the truth is
	// Labels[k]. Each row sums to 1.
	Confusion map[string][][]float64
	// Support maps a worker to the number of answers each row of its
	// matrix rests on (see WorkerResult.Support). Shrunk reads it; it may
	// be nil.
	Support map[string][]float64
	// Fallback is the confusion matrix assumed for a worker missing from
	// Confusion. Nil means such a worker's answers carry no information.
	Fallback [][]float64
}

// SymmetricModel is a cold-start model: uniform priors, and every worker
// (Fallback) right with probability accuracy and otherwise giving one of
// the other labels uniformly at random. Under it the posterior of an item
// depends only on its vote counts: it is majority vote with confidence.
func SymmetricModel(labels []string, accuracy float64) (*WorkerModel, error) {
	k := len(labels)
	if k < 2 {
		return nil, fmt.Errorf("symmetric model: %w: %d labels, want at least 2", ErrInput, k)
	}
	if !(accuracy > 0 && accuracy < 1) {
		return nil, fmt.Errorf("symmetric model: %w: accuracy %v, want in (0, 1)", ErrInput, accuracy)
	}
	m := &WorkerModel{
		Labels:   slices.Clone(labels),
		Priors:   make([]float64, k),
		Fallback: newMatrix(k),
	}
	for a := range k {
		m.Priors[a] = 1 / float64(k)
		for b := range k {
			m.Fallback[a][b] = (1 - accuracy) / float64(k-1)
		}
		m.Fallback[a][a] = accuracy
	}
	return m, m.Validate()
}

// Validate checks shapes and that priors and confusion rows are
// probability distributions (within 1e-6).
func (m *WorkerModel) Validate() error {
	k := len(m.Labels)
	if k == 0 {
		return fmt.Errorf("%w: worker model has no labels", ErrInput)
	}
	seen := make(map[string]bool, k)
	for _, l := range m.Labels {
		if l == "" || seen[l] {
			return fmt.Errorf("%w: worker model: empty or repeated label %q", ErrInput, l)
		}
		seen[l] = true
	}
	if err := checkDist(m.Priors, k); err != nil {
		return fmt.Errorf("%w: worker model priors: %w", ErrInput, err)
	}
	check := func(name string, cm [][]float64) error {
		if len(cm) != k {
			return fmt.Errorf("%w: worker model: %s has %d rows, want %d", ErrInput, name, len(cm), k)
		}
		for a, row := range cm {
			if err := checkDist(row, k); err != nil {
				return fmt.Errorf("%w: worker model: %s row %q: %w", ErrInput, name, m.Labels[a], err)
			}
		}
		return nil
	}
	if m.Fallback != nil {
		if err := check("fallback", m.Fallback); err != nil {
			return err
		}
	}
	for w, cm := range m.Confusion {
		if err := check("worker "+fmt.Sprintf("%q", w), cm); err != nil {
			return err
		}
	}
	for w, sup := range m.Support {
		if len(sup) != k {
			return fmt.Errorf("%w: worker model: worker %q support has %d entries, want %d", ErrInput, w, len(sup), k)
		}
		for _, x := range sup {
			if x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("%w: worker model: worker %q support %v, want finite ≥ 0", ErrInput, w, x)
			}
		}
	}
	return nil
}

func checkDist(p []float64, k int) error {
	if len(p) != k {
		return fmt.Errorf("%d entries, want %d", len(p), k)
	}
	sum := 0.0
	for _, x := range p {
		if x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("entry %v, want finite ≥ 0", x)
		}
		sum += x
	}
	if math.Abs(sum-1) > 1e-6 {
		return fmt.Errorf("entries sum to %v, want 1", sum)
	}
	return nil
}

// Shrunk returns a copy of m in which each worker's confusion row k is
// pulled towards the Fallback's row k in proportion to how little evidence
// it rests on:
//
//	row' = (S_k·row + s·fallback_row) / (S_k + s)
//
// with S_k the row's Support. A worker's own estimate counts as much as
// the crowd's typical worker once s of its answers back it. This is the
// posterior mean under a prior worth s answers centred on the typical
// worker, and it tempers Dawid-Skene's maximum-likelihood matrices, which
// call a worker perfect after two agreeing answers: decisions taken on a
// single item (RedundancyPolicy) are then far better calibrated. Workers
// without Support, or m without Fallback, are copied unchanged.
func (m *WorkerModel) Shrunk(s float64) *WorkerModel {
	out := &WorkerModel{
		Labels:    slices.Clone(m.Labels),
		Priors:    slices.Clone(m.Priors),
		Confusion: make(map[string][][]float64, len(m.Confusion)),
		Support:   make(map[string][]float64, len(m.Support)),
	}
	if m.Fallback != nil {
		out.Fallback = cloneMatrix(m.Fallback)
	}
	for w, cm := range m.Confusion {
		c := cloneMatrix(cm)
		sup, ok := m.Support[w]
		if ok && m.Fallback != nil && s > 0 {
			for a := range c {
				f := sup[a] / (sup[a] + s)
				for b := range c[a] {
					c[a][b] = f*c[a][b] + (1-f)*m.Fallback[a][b]
				}
			}
		}
		out.Confusion[w] = c
		if ok {
			out.Support[w] = slices.Clone(sup)
		}
	}
	return out
}

// confusionFor returns the worker's matrix, the fallback, or nil.
func (m *WorkerModel) confusionFor(worker string) [][]float64 {
	if cm, ok := m.Confusion[worker]; ok {
		return cm
	}
	return m.Fallback
}

// Accuracy returns the worker's estimated accuracy Σ_k p_k π[k][k], from
// its own matrix or the fallback; known reports whether the worker has an
// estimate of its own. Without either it returns 1/K.
func (m *WorkerModel) Accuracy(worker string) (acc float64, known bool) {
	_, known = m.Confusion[worker]
	cm := m.confusionFor(worker)
	if cm == nil {
		return 1 / float64(len(m.Labels)), false
	}
	for k, p := range m.Priors {
		acc += p * cm[k][k]
	}
	return acc, known
}

// Posterior returns the posterior distribution over m.Labels of one item's
// true label given its answers, holding the model's parameters fixed (the
// Dawid-Skene E-step for a single item): p_k · Π π^w[k][answer], in log
// space. Answers whose label is not in m.Labels are skipped; used counts
// the answers that were not. The Question field of the answers is not
// read: the caller passes one item's answers.
func (m *WorkerModel) Posterior(answers []Answer) (post []float64, used int) {
	k := len(m.Labels)
	s := make([]float64, k)
	for c := range k {
		s[c] = safeLog(m.Priors[c])
	}
	for _, a := range answers {
		l := slices.Index(m.Labels, a.Label)
		if l < 0 {
			continue
		}
		used++
		cm := m.confusionFor(a.Worker)
		if cm == nil {
			continue // no information about this worker
		}
		for c := range k {
			s[c] += safeLog(cm[c][l])
		}
	}
	lse := logSumExp(s)
	for c := range s {
		s[c] = math.Exp(s[c] - lse)
	}
	return s, used
}
