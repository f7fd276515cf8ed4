package crowd

import (
	"fmt"
	"math"
)

// RedundancyPolicy decides when an item has enough answers. Instead of a
// fixed k answers per item it asks for more only while the answers so far
// leave the item's label in doubt: it stops once the posterior of the
// leading label reaches Threshold with at least MinAnswers answers, and
// in any case at MaxAnswers. Easy items (annotators agree, or a reliable
// annotator answered) stop early; disputed ones get up to MaxAnswers.
type RedundancyPolicy struct {
	// Threshold is the posterior probability the leading label must reach
	// to stop, in (0, 1), e.g. 0.99.
	Threshold float64
	// MinAnswers (m ≥ 1) is the fewest answers an item may stop with,
	// counting only answers whose label is in the model's label set.
	MinAnswers int
	// MaxAnswers (k_max ≥ MinAnswers) stops an item whatever its
	// posterior. Every answer counts towards it, since every answer was
	// paid for.
	MaxAnswers int
}

// Validate reports the first invalid field.
func (p RedundancyPolicy) Validate() error {
	switch {
	case !(p.Threshold > 0 && p.Threshold < 1):
		return fmt.Errorf("%w: redundancy policy: Threshold %v, want in (0, 1)", ErrInput, p.Threshold)
	case p.MinAnswers < 1:
		return fmt.Errorf("%w: redundancy policy: MinAnswers %d, want ≥ 1", ErrInput, p.MinAnswers)
	case p.MaxAnswers < p.MinAnswers:
		return fmt.Errorf("%w: redundancy policy: MaxAnswers %d, want ≥ MinAnswers %d", ErrInput, p.MaxAnswers, p.MinAnswers)
	}
	return nil
}

// StopReason says why a Decision stops, or that it does not.
type StopReason string

const (
	// Continue: the item needs more answers.
	Continue StopReason = ""
	// StopConfident: the leading label reached the threshold with at
	// least MinAnswers answers.
	StopConfident StopReason = "confident"
	// StopMaxAnswers: the item has MaxAnswers answers.
	StopMaxAnswers StopReason = "max-answers"
)

// Decision is a RedundancyPolicy's verdict on one item.
type Decision struct {
	// NeedMore is true when the item should be handed out again.
	NeedMore bool
	// Reason is why the item stops (Continue when NeedMore).
	Reason StopReason
	// Label and Confidence are the leading label and its posterior;
	// Posterior is the whole distribution over the model's labels. All
	// are zero when the model is nil.
	Label      string
	Confidence float64
	Posterior  []float64
	// Answers counts all the item's answers; Used those whose label the
	// model knows.
	Answers, Used int
}

// Decide judges one item from its answers so far, under the current
// worker quality estimates: the posterior of the item's label is computed
// with model.Posterior (the Dawid-Skene E-step for this item, parameters
// held fixed). The answers must all be for the same item.
//
// A nil model means no quality estimate is available yet; the item then
// needs more answers until MaxAnswers, which is fixed redundancy. The
// policy is assumed valid (see Validate); Decide does not fail.
func (p RedundancyPolicy) Decide(answers []Answer, model *WorkerModel) Decision {
	d := Decision{Answers: len(answers)}
	if model != nil && len(model.Labels) > 0 {
		d.Posterior, d.Used = model.Posterior(answers)
		q := ""
		if len(answers) > 0 {
			q = answers[0].Question
		}
		best := pickLabel(d.Posterior, q, 0)
		d.Label, d.Confidence = model.Labels[best], d.Posterior[best]
	}
	switch {
	case d.Answers >= p.MaxAnswers:
		d.Reason = StopMaxAnswers
	case d.Used >= p.MinAnswers && d.Confidence >= p.Threshold && !math.IsNaN(d.Confidence):
		d.Reason = StopConfident
	default:
		d.NeedMore = true
	}
	return d
}

// NeedMore reports whether an item with these answers should get another
// one; see Decide.
func (p RedundancyPolicy) NeedMore(answers []Answer, model *WorkerModel) bool {
	return p.Decide(answers, model).NeedMore
}
