package crowd

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// dataDir finds the shared crowd answer sets: ../shared/data/crowd from
// the repository root, found by walking up from the test's working
// directory to the first ancestor beside which shared/data/crowd exists.
// It fails, not skips: the accuracy targets are part of the package's
// contract.
func dataDir(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatalf("getwd: %v", err)
	}
	for dir := wd; ; {
		cand := filepath.Join(dir, "shared", "data", "crowd")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("crowd data not found: no shared/data/crowd beside %s or any of its ancestors "+
				"(the answer sets live at ../shared/data/crowd relative to the repository root)", wd)
		}
		dir = parent
	}
}

// loadSet reads a data set's answers and truth (name is RTE or TEMP).
func loadSet(tb testing.TB, name string) ([]Answer, Truth) {
	tb.Helper()
	dir := filepath.Join(dataDir(tb), name)
	answers, err := ReadAnswersFile(filepath.Join(dir, "answer.csv"))
	if err != nil {
		tb.Fatalf("read %s answers: %v", name, err)
	}
	truth, err := ReadTruthFile(filepath.Join(dir, "truth.csv"))
	if err != nil {
		tb.Fatalf("read %s truth: %v", name, err)
	}
	return answers, truth
}

// simulated returns answers of a simulated crowd with known confusion
// matrices: nItems items with labels drawn from priors, k answers each.
func simulated(tb testing.TB, seed uint64, labels []string, priors []float64, crowd []Annotator, nItems, k int) ([]Answer, Truth) {
	tb.Helper()
	sim, err := NewSimulator(seed, labels)
	if err != nil {
		tb.Fatal(err)
	}
	truth := Truth{}
	rng := sim.rng("truth")
	for i := range nItems {
		u, l := rng.Float64(), 0
		for l < len(priors)-1 && u >= priors[l] {
			u -= priors[l]
			l++
		}
		truth[itemName(i)] = labels[l]
	}
	answers, err := sim.Collect(crowd, truth, k)
	if err != nil {
		tb.Fatal(err)
	}
	return answers, truth
}

func itemName(i int) string { return fmt.Sprintf("item%05d", i) }
