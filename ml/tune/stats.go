package tune

import (
	"fmt"
	"math"
)

// Summary is the mean and spread of per-fold scores.
type Summary struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	// Std is the sample standard deviation (n-1 denominator, so a
	// spread over few folds is not understated); 0 for a single score.
	Std float64 `json:"std"`
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

// String formats the summary as "mean ± std".
func (s Summary) String() string { return fmt.Sprintf("%.4f ± %.4f", s.Mean, s.Std) }

// Summarize returns the mean and sample standard deviation of scores.
func Summarize(scores []float64) (Summary, error) {
	if len(scores) == 0 {
		return Summary{}, fmt.Errorf("%w: no scores", ErrInvalid)
	}
	s := Summary{N: len(scores), Min: math.Inf(1), Max: math.Inf(-1)}
	for i, v := range scores {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Summary{}, fmt.Errorf("%w: score %d is %v", ErrInvalid, i, v)
		}
		s.Mean += v
		s.Min = min(s.Min, v)
		s.Max = max(s.Max, v)
	}
	s.Mean /= float64(len(scores))
	if len(scores) > 1 {
		ss := 0.0
		for _, v := range scores {
			ss += (v - s.Mean) * (v - s.Mean)
		}
		s.Std = math.Sqrt(ss / float64(len(scores)-1))
	}
	return s, nil
}
