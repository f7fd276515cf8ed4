package crowd

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
)

// index is answers turned into dense integer ids, grouped by item, which is
// what both aggregators iterate over.
type index struct {
	labels    []string // class order; all matrices and posteriors follow it
	items     []string // questions in order of first appearance
	workers   []string // workers in order of first appearance
	itemStart []int    // answers of item i are obs[itemStart[i]:itemStart[i+1]]
	obsWorker []int32
	obsLabel  []int32
	labelID   map[string]int
	workerN   []int // answers per worker
}

// newIndex indexes answers. If labels is empty the label set is the sorted
// set of labels answered; otherwise it is labels, in that order, and an
// answer outside it is an error.
func newIndex(answers []Answer, labels []string) (*index, error) {
	if len(answers) == 0 {
		return nil, fmt.Errorf("%w: no answers", ErrInput)
	}
	ix := &index{labelID: map[string]int{}}
	if len(labels) > 0 {
		for _, l := range labels {
			if l == "" {
				return nil, fmt.Errorf("%w: empty label in the label set", ErrInput)
			}
			if _, dup := ix.labelID[l]; dup {
				return nil, fmt.Errorf("%w: label %q twice in the label set", ErrInput, l)
			}
			ix.labelID[l] = len(ix.labels)
			ix.labels = append(ix.labels, l)
		}
	} else {
		for _, a := range answers {
			if _, ok := ix.labelID[a.Label]; !ok {
				ix.labelID[a.Label] = 0
				ix.labels = append(ix.labels, a.Label)
			}
		}
		slices.Sort(ix.labels)
		for i, l := range ix.labels {
			ix.labelID[l] = i
		}
	}

	itemID := map[string]int{}
	workerID := map[string]int{}
	item := make([]int32, len(answers))
	worker := make([]int32, len(answers))
	label := make([]int32, len(answers))
	counts := []int{}
	for n, a := range answers {
		if a.Question == "" || a.Worker == "" || a.Label == "" {
			return nil, fmt.Errorf("%w: answer %d (question %q, worker %q): empty field", ErrInput, n+1, a.Question, a.Worker)
		}
		l, ok := ix.labelID[a.Label]
		if !ok {
			return nil, fmt.Errorf("%w: answer %d (question %q, worker %q): label %q not in the label set %q",
				ErrInput, n+1, a.Question, a.Worker, a.Label, ix.labels)
		}
		label[n] = int32(l)
		i, ok := itemID[a.Question]
		if !ok {
			i = len(ix.items)
			itemID[a.Question] = i
			ix.items = append(ix.items, a.Question)
			counts = append(counts, 0)
		}
		counts[i]++
		item[n] = int32(i)
		w, ok := workerID[a.Worker]
		if !ok {
			w = len(ix.workers)
			workerID[a.Worker] = w
			ix.workers = append(ix.workers, a.Worker)
		}
		worker[n] = int32(w)
	}

	// Counting sort by item keeps each item's answers in input order.
	ix.itemStart = make([]int, len(ix.items)+1)
	for i, c := range counts {
		ix.itemStart[i+1] = ix.itemStart[i] + c
	}
	next := slices.Clone(ix.itemStart[:len(ix.items)])
	ix.obsWorker = make([]int32, len(answers))
	ix.obsLabel = make([]int32, len(answers))
	ix.workerN = make([]int, len(ix.workers))
	for n := range answers {
		p := next[item[n]]
		next[item[n]]++
		ix.obsWorker[p] = worker[n]
		ix.obsLabel[p] = label[n]
		ix.workerN[worker[n]]++
	}
	return ix, nil
}

// pickLabel returns the index of the largest score. Scores within 1e-12
// of the largest (relative to it when it exceeds 1) count as tied, and a tie is broken by a
// random choice among the tied labels from a generator seeded with seed and
// a hash of the question. The choice for a question therefore depends only
// on the seed, the question and its scores, not on the other questions or
// the input order, so re-aggregating a grown answer set never flips the
// tie-break of an item whose answers did not change.
func pickLabel(scores []float64, question string, seed uint64) int {
	best := 0
	for k, s := range scores {
		if s > scores[best] {
			best = k
		}
	}
	const rel = 1e-12
	tied := make([]int, 0, 2)
	for k, s := range scores {
		if scores[best]-s <= rel*max(1, scores[best]) {
			tied = append(tied, k)
		}
	}
	if len(tied) == 1 {
		return best
	}
	h := fnv.New64a()
	h.Write([]byte(question))
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	return tied[rng.IntN(len(tied))]
}
