package crowd

import (
	"fmt"
	"math"
)

// MajorityOptions configures MajorityVote. The zero value is plain majority
// vote over the labels answered, with seed 0.
type MajorityOptions struct {
	// Labels fixes the label set and its order. Empty: the sorted set of
	// labels answered. With Labels set, an answer outside it is an error.
	Labels []string
	// Seed seeds the tie-break (see MajorityVote).
	Seed uint64
	// Weights gives a worker's vote weight; a worker not listed weighs 1.
	// Weight 0 excludes a worker's answers (e.g. a paused annotator)
	// while still counting them in ItemResult.Answers. Weights must be
	// finite and not negative.
	Weights map[string]float64
}

// MajorityVote labels each question with the label most of its answers
// gave (the largest weight sum with Weights). Confidence is the winning
// label's vote share and Posterior holds every label's share.
//
// Ties are broken at random but deterministically: among the labels whose
// vote totals tie, one is drawn by a PCG generator seeded with opts.Seed
// and an FNV-1a hash of the question, so the same seed and question always
// pick the same label whatever the other questions or the answer order.
//
// Each worker's Confusion counts its answers against the vote's labels,
// with DefaultSmoothing added to every cell before normalising; Accuracy is
// the share of its answers that agree with the vote.
func MajorityVote(answers []Answer, opts MajorityOptions) (*Result, error) {
	for w, x := range opts.Weights {
		if x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("majority vote: %w: worker %q has weight %v, want finite ≥ 0", ErrInput, w, x)
		}
	}
	ix, err := newIndex(answers, opts.Labels)
	if err != nil {
		return nil, fmt.Errorf("majority vote: %w", err)
	}
	k := len(ix.labels)
	weight := make([]float64, len(ix.workers))
	for w, name := range ix.workers {
		weight[w] = 1
		if x, ok := opts.Weights[name]; ok {
			weight[w] = x
		}
	}

	res := &Result{
		Method:    MethodMajority,
		Labels:    ix.labels,
		Items:     make([]ItemResult, len(ix.items)),
		Priors:    make([]float64, k),
		Converged: true,
	}
	post := make([]float64, len(ix.items)*k)
	hard := make([]int, len(ix.items))
	for i, q := range ix.items {
		p := post[i*k : (i+1)*k : (i+1)*k]
		total := 0.0
		for n := ix.itemStart[i]; n < ix.itemStart[i+1]; n++ {
			x := weight[ix.obsWorker[n]]
			p[ix.obsLabel[n]] += x
			total += x
		}
		for c := range p {
			if total > 0 {
				p[c] /= total
			} else {
				p[c] = 1 / float64(k) // every answer excluded: no evidence
			}
			res.Priors[c] += p[c] / float64(len(ix.items))
		}
		hard[i] = pickLabel(p, q, opts.Seed)
		res.Items[i] = ItemResult{
			Question:   q,
			Label:      ix.labels[hard[i]],
			Confidence: p[hard[i]],
			Posterior:  p,
			Answers:    ix.itemStart[i+1] - ix.itemStart[i],
		}
	}

	counts := make([]float64, len(ix.workers)*k*k)
	agree := make([]int, len(ix.workers))
	for i := range ix.items {
		for n := ix.itemStart[i]; n < ix.itemStart[i+1]; n++ {
			w, l := int(ix.obsWorker[n]), int(ix.obsLabel[n])
			counts[(w*k+hard[i])*k+l]++
			if l == hard[i] {
				agree[w]++
			}
		}
	}
	res.Workers = make([]WorkerResult, len(ix.workers))
	for w, name := range ix.workers {
		conf := newMatrix(k)
		sup := make([]float64, k)
		for a := range k {
			row := counts[(w*k+a)*k : (w*k+a+1)*k]
			for _, c := range row {
				sup[a] += c
			}
			for b, c := range row {
				conf[a][b] = (c + DefaultSmoothing) / (sup[a] + float64(k)*DefaultSmoothing)
			}
		}
		res.Workers[w] = WorkerResult{
			Worker:    name,
			Answers:   ix.workerN[w],
			Accuracy:  float64(agree[w]) / float64(ix.workerN[w]),
			Confusion: conf,
			Support:   sup,
		}
	}
	res.finish()
	return res, nil
}
