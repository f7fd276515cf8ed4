package crowd

import (
	"fmt"
	"math"
)

// GoldStats is one annotator's record on gold questions.
type GoldStats struct {
	Worker string
	// Answered counts the worker's answers to gold questions; Correct
	// those equal to the gold label.
	Answered, Correct int
	// Accuracy is Correct / Answered (0 when Answered is 0).
	Accuracy float64
}

// GoldAccuracy scores every worker that answered at least one gold
// question, in order of the workers' first gold answer. Answers to other
// questions are ignored.
func GoldAccuracy(answers []Answer, gold Truth) []GoldStats {
	idx := map[string]int{}
	var out []GoldStats
	for _, a := range answers {
		g, ok := gold[a.Question]
		if !ok {
			continue
		}
		i, ok := idx[a.Worker]
		if !ok {
			i = len(out)
			idx[a.Worker] = i
			out = append(out, GoldStats{Worker: a.Worker})
		}
		out[i].Answered++
		if a.Label == g {
			out[i].Correct++
		}
	}
	for i := range out {
		out[i].Accuracy = float64(out[i].Correct) / float64(out[i].Answered)
	}
	return out
}

// AgreementStats is how often one annotator agrees with the aggregate.
type AgreementStats struct {
	Worker string
	// Compared counts the worker's answers to questions that have an
	// aggregate label; Agreed those equal to it.
	Compared, Agreed int
	// Agreement is Agreed / Compared (0 when Compared is 0).
	Agreement float64
}

// Agreement measures each worker's agreement with aggregate labels
// (question → label, e.g. Result.LabelMap()), in order of the workers'
// first answer. A worker's own answer took part in the aggregate, so on
// items with few answers this overstates agreement; gold accuracy has no
// such bias.
func Agreement(answers []Answer, labels map[string]string) []AgreementStats {
	idx := map[string]int{}
	var out []AgreementStats
	for _, a := range answers {
		i, ok := idx[a.Worker]
		if !ok {
			i = len(out)
			idx[a.Worker] = i
			out = append(out, AgreementStats{Worker: a.Worker})
		}
		l, ok := labels[a.Question]
		if !ok {
			continue
		}
		out[i].Compared++
		if a.Label == l {
			out[i].Agreed++
		}
	}
	for i := range out {
		if out[i].Compared > 0 {
			out[i].Agreement = float64(out[i].Agreed) / float64(out[i].Compared)
		}
	}
	return out
}

// PausePolicy pauses annotators whose gold accuracy is too low, once
// enough gold answers make the accuracy meaningful.
type PausePolicy struct {
	// MinGold is the number of gold answers before a verdict (≥ 1).
	MinGold int
	// MinAccuracy is the gold accuracy below which an annotator is
	// paused, in [0, 1].
	MinAccuracy float64
}

// Validate reports the first invalid field.
func (p PausePolicy) Validate() error {
	if p.MinGold < 1 {
		return fmt.Errorf("%w: pause policy: MinGold %d, want ≥ 1", ErrInput, p.MinGold)
	}
	if !(p.MinAccuracy >= 0 && p.MinAccuracy <= 1) || math.IsNaN(p.MinAccuracy) {
		return fmt.Errorf("%w: pause policy: MinAccuracy %v, want in [0, 1]", ErrInput, p.MinAccuracy)
	}
	return nil
}

// ShouldPause reports whether an annotator with these gold stats is to be
// paused: at least MinGold gold answers and accuracy below MinAccuracy.
func (p PausePolicy) ShouldPause(s GoldStats) bool {
	return s.Answered >= p.MinGold && s.Accuracy < p.MinAccuracy
}

// Paused returns the set of workers ShouldPause selects.
func (p PausePolicy) Paused(stats []GoldStats) map[string]bool {
	out := map[string]bool{}
	for _, s := range stats {
		if p.ShouldPause(s) {
			out[s.Worker] = true
		}
	}
	return out
}

// Without returns the answers not given by the workers in exclude, e.g.
// to aggregate without paused annotators. (MajorityOptions.Weights
// down-weights instead of excluding.)
func Without(answers []Answer, exclude map[string]bool) []Answer {
	out := make([]Answer, 0, len(answers))
	for _, a := range answers {
		if !exclude[a.Worker] {
			out = append(out, a)
		}
	}
	return out
}

// AnnotatorReport is everything known of one annotator's quality.
type AnnotatorReport struct {
	Worker  string
	Answers int
	// Gold is the record on gold questions (zero if none answered).
	Gold GoldStats
	// Agreement is the share of answers agreeing with the aggregate.
	Agreement float64
	// Estimated is the aggregation's accuracy estimate (Dawid-Skene's
	// Σ_k p_k π[k][k]); 0 if the worker is not in the result.
	Estimated float64
	// Paused is the pause policy's verdict on Gold.
	Paused bool
}

// Report combines gold accuracy, agreement with res and res's quality
// estimate per worker, in order of first answer. gold may be nil.
func Report(answers []Answer, gold Truth, res *Result, pause PausePolicy) []AnnotatorReport {
	golds := map[string]GoldStats{}
	for _, g := range GoldAccuracy(answers, gold) {
		golds[g.Worker] = g
	}
	count := map[string]int{}
	for _, a := range answers {
		count[a.Worker]++
	}
	agree := Agreement(answers, res.LabelMap())
	out := make([]AnnotatorReport, len(agree))
	for i, a := range agree {
		r := AnnotatorReport{Worker: a.Worker, Answers: count[a.Worker], Gold: golds[a.Worker], Agreement: a.Agreement}
		r.Gold.Worker = a.Worker
		if w, ok := res.Worker(a.Worker); ok {
			r.Estimated = w.Accuracy
		}
		r.Paused = pause.ShouldPause(r.Gold)
		out[i] = r
	}
	return out
}
