package tune

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
)

func labels(counts ...int) []int {
	var y []int
	for c, n := range counts {
		for range n {
			y = append(y, c)
		}
	}
	// Interleave a little so classes are not contiguous.
	slices.Reverse(y[len(y)/2:])
	return y
}

func TestKFoldStratifiedCoversEveryItemOnce(t *testing.T) {
	t.Parallel()
	y := labels(50, 30, 7)
	folds, err := KFold(y, 5, 42)
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]int, len(y))
	for i, f := range folds {
		if len(f.Train)+len(f.Val) != len(y) {
			t.Fatalf("fold %d: %d + %d items", i, len(f.Train), len(f.Val))
		}
		for _, v := range f.Val {
			seen[v]++
			if slices.Contains(f.Train, v) {
				t.Fatalf("fold %d: item %d in both train and val", i, v)
			}
		}
		// Each class's share of the fold is within one item of its
		// share of the whole set.
		count := map[int]int{}
		for _, v := range f.Val {
			count[y[v]]++
		}
		for c, n := range []int{50, 30, 7} {
			if want := float64(n) / 5; math.Abs(float64(count[c])-want) >= 1 {
				t.Errorf("fold %d class %d: %d items, want about %.1f", i, c, count[c], want)
			}
		}
	}
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("item %d validated %d times", i, n)
		}
	}
	again, _ := KFold(y, 5, 42)
	other, _ := KFold(y, 5, 43)
	if fmt.Sprint(again) != fmt.Sprint(folds) {
		t.Error("same seed gave different folds")
	}
	if fmt.Sprint(other) == fmt.Sprint(folds) {
		t.Error("different seed gave the same folds")
	}
	for _, k := range []int{1, 0, len(y) + 1} {
		if _, err := KFold(y, k, 1); !errors.Is(err, ErrInvalid) {
			t.Errorf("k=%d: got %v", k, err)
		}
	}
}

func TestShardsBalanced(t *testing.T) {
	t.Parallel()
	y := labels(41, 40, 20)
	shards, err := Shards(y, 4, 7)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, s := range shards {
		if len(s) < 25 || len(s) > 26 {
			t.Errorf("shard of %d items, want 25 or 26", len(s))
		}
		total += len(s)
	}
	if total != len(y) {
		t.Errorf("%d items in shards, want %d", total, len(y))
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	s, err := Summarize([]float64{0.9, 0.8, 1.0})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(s.Mean-0.9) > 1e-12 || math.Abs(s.Std-0.1) > 1e-12 || s.Min != 0.8 || s.Max != 1.0 {
		t.Errorf("got %+v", s)
	}
	if s.String() != "0.9000 ± 0.1000" {
		t.Errorf("String() = %q", s.String())
	}
	if _, err := Summarize(nil); !errors.Is(err, ErrInvalid) {
		t.Error("empty scores accepted")
	}
	if _, err := Summarize([]float64{1, math.NaN()}); !errors.Is(err, ErrInvalid) {
		t.Error("NaN score accepted")
	}
}

func TestGrid(t *testing.T) {
	t.Parallel()
	trials, err := Grid(Space{
		{Name: "learning_rate", Values: []any{0.1, 0.01}},
		{Name: "layers.0.filters", Values: []any{8, 16, 32}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(trials) != 6 {
		t.Fatalf("%d trials, want 6", len(trials))
	}
	if trials[0].Params["learning_rate"] != 0.1 || trials[0].Params["layers.0.filters"] != 8 ||
		trials[1].Params["layers.0.filters"] != 16 || trials[5].Params["learning_rate"] != 0.01 || trials[5].ID != 5 {
		t.Errorf("trial order: %v", trials)
	}
	bad := []Space{
		nil,
		{{Name: "x", Min: 0, Max: 1}}, // range in a grid
		{{Name: "x", Values: []any{1}}, {Name: "x", Values: []any{2}}}, // duplicate
		{{Name: "", Values: []any{1}}},
	}
	for i, s := range bad {
		if _, err := Grid(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad space %d: got %v", i, err)
		}
	}
}

func TestRandomSeededAndInRange(t *testing.T) {
	t.Parallel()
	space := Space{
		{Name: "learning_rate", Min: 1e-4, Max: 1e-1, Log: true},
		{Name: "layers.3.units", Min: 16, Max: 256, Int: true},
		{Name: "optimizer", Values: []any{"sgd", "adam"}},
	}
	a, err := Random(space, 50, 9)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Random(space, 50, 9)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("same seed gave different trials")
	}
	small := 0
	for _, tr := range a {
		lr := tr.Params["learning_rate"].(float64)
		u := tr.Params["layers.3.units"].(int)
		if lr < 1e-4 || lr > 1e-1 || u < 16 || u > 256 {
			t.Fatalf("trial out of range: %v", tr.Params)
		}
		if lr < 1e-3 {
			small++
		}
	}
	// Log-uniform: a third of draws fall in [1e-4, 1e-3); uniform would give 1%.
	if small < 5 {
		t.Errorf("%d of 50 learning rates below 1e-3; log sampling should give about 17", small)
	}
	if _, err := Random(Space{{Name: "x", Min: 0, Max: 1, Log: true}}, 3, 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("log range from 0: got %v", err)
	}
}

func TestBest(t *testing.T) {
	t.Parallel()
	rs := []Result{
		{Trial{ID: 0}, Summary{Mean: 0.90, Std: 0.02}},
		{Trial{ID: 1}, Summary{Mean: 0.95, Std: 0.03}},
		{Trial{ID: 2}, Summary{Mean: 0.95, Std: 0.01}},
		{Trial{ID: 3}, Summary{Mean: 0.95, Std: 0.01}},
	}
	b, err := Best(rs, false)
	if err != nil || b.Trial.ID != 2 {
		t.Errorf("best = %d %v, want trial 2 (ties: lower std, then lower id)", b.Trial.ID, err)
	}
	l, _ := Best(rs, true)
	if l.Trial.ID != 0 {
		t.Errorf("lowest = %d, want 0", l.Trial.ID)
	}
	if _, err := Best(nil, false); !errors.Is(err, ErrInvalid) {
		t.Error("no results accepted")
	}
}
