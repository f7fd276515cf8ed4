package tune

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// MaxTrials bounds how many trials one search may expand to.
const MaxTrials = 10000

// Param is one dimension of a search space. Name is a key understood by
// ml.Spec.WithParams ("learning_rate", "layers.0.filters", ...). Either
// Values lists the choices (grid or random), or Min/Max give a range
// (random only), sampled uniformly, or log-uniformly with Log, and
// rounded with Int.
type Param struct {
	Name   string  `json:"name"`
	Values []any   `json:"values,omitempty"`
	Min    float64 `json:"min,omitempty"`
	Max    float64 `json:"max,omitempty"`
	Log    bool    `json:"log,omitempty"`
	Int    bool    `json:"int,omitempty"`
}

// Space is an ordered list of parameters; the order fixes trial order.
type Space []Param

// Trial is one configuration to evaluate: parameter name → value.
type Trial struct {
	ID     int            `json:"id"`
	Params map[string]any `json:"params"`
}

// Validate checks every parameter, naming the bad one.
func (s Space) Validate() error {
	if len(s) == 0 {
		return fmt.Errorf("%w: empty search space", ErrInvalid)
	}
	seen := map[string]bool{}
	for i, p := range s {
		where := fmt.Sprintf("param %d (%s)", i, p.Name)
		if strings.TrimSpace(p.Name) == "" {
			return fmt.Errorf("%w: param %d has no name", ErrInvalid, i)
		}
		if seen[p.Name] {
			return fmt.Errorf("%w: %s is listed twice", ErrInvalid, where)
		}
		seen[p.Name] = true
		ranged := p.Min != 0 || p.Max != 0 || p.Log || p.Int
		switch {
		case len(p.Values) > 0 && ranged:
			return fmt.Errorf("%w: %s: give values or min/max, not both", ErrInvalid, where)
		case len(p.Values) > 0:
		case !(p.Min < p.Max) || math.IsInf(p.Min, 0) || math.IsInf(p.Max, 0):
			return fmt.Errorf("%w: %s: range [%g, %g] is empty (want min < max, or a list of values)", ErrInvalid, where, p.Min, p.Max)
		case p.Log && p.Min <= 0:
			return fmt.Errorf("%w: %s: a log range needs min > 0, got %g", ErrInvalid, where, p.Min)
		}
	}
	return nil
}

// Grid returns every combination of the parameters' values, the last
// parameter varying fastest. Ranges are not allowed in a grid.
func Grid(s Space) ([]Trial, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	total := 1
	for i, p := range s {
		if len(p.Values) == 0 {
			return nil, fmt.Errorf("%w: param %d (%s): a grid needs a list of values, not a range", ErrInvalid, i, p.Name)
		}
		total *= len(p.Values)
		if total > MaxTrials {
			return nil, fmt.Errorf("%w: grid has more than %d trials", ErrInvalid, MaxTrials)
		}
	}
	trials := make([]Trial, total)
	for t := range trials {
		params := make(map[string]any, len(s))
		rest := t
		for i := len(s) - 1; i >= 0; i-- {
			v := s[i].Values
			params[s[i].Name] = v[rest%len(v)]
			rest /= len(v)
		}
		trials[t] = Trial{ID: t, Params: params}
	}
	return trials, nil
}

// Random returns n trials, each parameter drawn independently from its
// values or range with a generator seeded by seed.
func Random(s Space, n int, seed uint64) ([]Trial, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if n < 1 || n > MaxTrials {
		return nil, fmt.Errorf("%w: %d trials (want 1..%d)", ErrInvalid, n, MaxTrials)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5ea4c4))
	trials := make([]Trial, n)
	for t := range trials {
		params := make(map[string]any, len(s))
		for _, p := range s {
			params[p.Name] = p.sample(rng)
		}
		trials[t] = Trial{ID: t, Params: params}
	}
	return trials, nil
}

func (p Param) sample(rng *rand.Rand) any {
	if len(p.Values) > 0 {
		return p.Values[rng.IntN(len(p.Values))]
	}
	u := rng.Float64()
	var v float64
	if p.Log {
		v = math.Exp(math.Log(p.Min) + u*(math.Log(p.Max)-math.Log(p.Min)))
	} else {
		v = p.Min + u*(p.Max-p.Min)
	}
	if p.Int {
		return int(math.Round(v))
	}
	return v
}

// Result is a trial's cross-validated score.
type Result struct {
	Trial Trial   `json:"trial"`
	Score Summary `json:"score"`
}

// Best returns the result with the highest mean score (lowest, if
// lowerIsBetter, e.g. for a loss). Ties go to the smaller standard
// deviation, then to the lower trial ID, so the choice is deterministic.
func Best(results []Result, lowerIsBetter bool) (Result, error) {
	if len(results) == 0 {
		return Result{}, fmt.Errorf("%w: no results", ErrInvalid)
	}
	better := func(a, b Result) bool {
		am, bm := a.Score.Mean, b.Score.Mean
		if lowerIsBetter {
			am, bm = -am, -bm
		}
		if am != bm {
			return am > bm
		}
		if a.Score.Std != b.Score.Std {
			return a.Score.Std < b.Score.Std
		}
		return a.Trial.ID < b.Trial.ID
	}
	best := results[0]
	for i, r := range results {
		if math.IsNaN(r.Score.Mean) {
			return Result{}, fmt.Errorf("%w: result %d (trial %d) has a NaN score", ErrInvalid, i, r.Trial.ID)
		}
		if better(r, best) {
			best = r
		}
	}
	return best, nil
}
