package tune

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
)

// ErrInvalid is returned (wrapped) for impossible arguments.
var ErrInvalid = errors.New("tune: invalid argument")

// Fold is one train/validation split of item indices (sorted ascending).
type Fold struct {
	Train []int `json:"train"`
	Val   []int `json:"val"`
}

// KFold splits items with the given labels into k stratified folds:
// items of each class are shuffled (seeded) and dealt round-robin, so
// every fold's class proportions match the whole set's to within one
// item per class. Fold i validates on its share and trains on the rest;
// every item is validated exactly once. Labels are class indices (any
// non-negative ints).
func KFold(labels []int, k int, seed uint64) ([]Fold, error) {
	if k < 2 {
		return nil, fmt.Errorf("%w: k = %d (want at least 2)", ErrInvalid, k)
	}
	if len(labels) < k {
		return nil, fmt.Errorf("%w: %d items cannot make %d folds", ErrInvalid, len(labels), k)
	}
	parts, err := stratify(labels, k, seed)
	if err != nil {
		return nil, err
	}
	folds := make([]Fold, k)
	for i := range folds {
		folds[i].Val = parts[i]
		for j, p := range parts {
			if j != i {
				folds[i].Train = append(folds[i].Train, p...)
			}
		}
		slices.Sort(folds[i].Train)
	}
	return folds, nil
}

// Shards splits items into k stratified, disjoint parts of near-equal
// size, the data of one data-parallel round's microtasks.
func Shards(labels []int, k int, seed uint64) ([][]int, error) {
	if k < 1 {
		return nil, fmt.Errorf("%w: %d shards (want at least 1)", ErrInvalid, k)
	}
	if len(labels) < k {
		return nil, fmt.Errorf("%w: %d items cannot make %d shards", ErrInvalid, len(labels), k)
	}
	return stratify(labels, k, seed)
}

// stratify deals each class's shuffled items round-robin into k parts,
// continuing the deal where the previous class stopped so part sizes
// differ by at most one.
func stratify(labels []int, k int, seed uint64) ([][]int, error) {
	byClass := map[int][]int{}
	var classes []int
	for i, y := range labels {
		if y < 0 {
			return nil, fmt.Errorf("%w: item %d has negative label %d", ErrInvalid, i, y)
		}
		if _, ok := byClass[y]; !ok {
			classes = append(classes, y)
		}
		byClass[y] = append(byClass[y], i)
	}
	slices.Sort(classes)
	rng := rand.New(rand.NewPCG(seed, 0xf01d))
	parts := make([][]int, k)
	next := 0
	for _, c := range classes {
		items := byClass[c]
		rng.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
		for _, it := range items {
			parts[next] = append(parts[next], it)
			next = (next + 1) % k
		}
	}
	for _, p := range parts {
		slices.Sort(p)
	}
	return parts, nil
}
