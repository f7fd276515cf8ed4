package crowd

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// dataDir is the crowd answer sets (RTE, TEMP) kept in testdata, copied
// from ../shared/data/crowd (see testdata/README.md for their origin and
// licence) so the tests run from any clone.
func dataDir(tb testing.TB) string {
	tb.Helper()
	dir, err := filepath.Abs("testdata")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "RTE", "answer.csv")); err != nil {
		tb.Fatalf("crowd data not found in %s: %v", dir, err)
	}
	return dir
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
