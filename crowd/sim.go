package crowd

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Spam says how a simulated annotator cheats.
type Spam int

const (
	// Honest annotators answer per their accuracy and bias.
	Honest Spam = iota
	// SpamRandom annotators pick a label uniformly at random.
	SpamRandom
	// SpamConstant annotators always give SpamLabel.
	SpamConstant
)

// Annotator is a simulated annotator.
type Annotator struct {
	// ID is the worker id its answers carry; it also seeds its answers.
	ID string
	// Accuracy is the probability of answering the true label.
	Accuracy float64
	// ClassAccuracy overrides Accuracy for items of a given true label,
	// e.g. an annotator who misses most "positive" cases.
	ClassAccuracy map[string]float64
	// Bias weighs the wrong labels: a wrong answer is Labels[l] with
	// probability proportional to Bias[Labels[l]] (1 if not listed)
	// among the labels other than the truth.
	Bias map[string]float64
	// Spam makes the annotator a spammer (Accuracy and Bias then unused).
	Spam Spam
	// SpamLabel is a SpamConstant annotator's answer; empty means the
	// first label.
	SpamLabel string
	// MedianTime is the median time to answer; times are log-normal
	// around it.
	MedianTime time.Duration
	// TimeSpread is the standard deviation of the log of the answer
	// time (0: always MedianTime; 0.5: half of the answers within
	// about ×0.7..×1.4 of the median).
	TimeSpread float64
}

// Confusion returns the annotator's true confusion matrix over labels:
// row k is the distribution of its answers when the truth is labels[k].
func (a *Annotator) Confusion(labels []string) ([][]float64, error) {
	if err := a.validate(labels); err != nil {
		return nil, err
	}
	k := len(labels)
	m := newMatrix(k)
	for t := range k {
		switch a.Spam {
		case SpamRandom:
			for l := range k {
				m[t][l] = 1 / float64(k)
			}
			continue
		case SpamConstant:
			m[t][a.constant(labels)] = 1
			continue
		}
		acc := a.accuracy(labels[t])
		wrong := 0.0
		for l := range k {
			if l != t {
				wrong += a.bias(labels[l])
			}
		}
		for l := range k {
			if l == t {
				m[t][l] = acc
			} else if wrong > 0 {
				m[t][l] = (1 - acc) * a.bias(labels[l]) / wrong
			}
		}
		if wrong == 0 { // every wrong label has weight 0: always right
			m[t][t] = 1
		}
	}
	return m, nil
}

func (a *Annotator) accuracy(truth string) float64 {
	if x, ok := a.ClassAccuracy[truth]; ok {
		return x
	}
	return a.Accuracy
}

func (a *Annotator) bias(label string) float64 {
	if x, ok := a.Bias[label]; ok {
		return x
	}
	return 1
}

func (a *Annotator) constant(labels []string) int {
	if a.SpamLabel == "" {
		return 0
	}
	return slices.Index(labels, a.SpamLabel)
}

func (a *Annotator) validate(labels []string) error {
	if len(labels) < 2 {
		return fmt.Errorf("%w: simulator: %d labels, want at least 2", ErrInput, len(labels))
	}
	if a.ID == "" {
		return fmt.Errorf("%w: simulated annotator: empty ID", ErrInput)
	}
	prob := func(name string, x float64) error {
		if !(x >= 0 && x <= 1) {
			return fmt.Errorf("%w: simulated annotator %q: %s %v, want in [0, 1]", ErrInput, a.ID, name, x)
		}
		return nil
	}
	if err := prob("Accuracy", a.Accuracy); err != nil {
		return err
	}
	for l, x := range a.ClassAccuracy {
		if !slices.Contains(labels, l) {
			return fmt.Errorf("%w: simulated annotator %q: ClassAccuracy for unknown label %q", ErrInput, a.ID, l)
		}
		if err := prob("ClassAccuracy["+l+"]", x); err != nil {
			return err
		}
	}
	for l, x := range a.Bias {
		if !slices.Contains(labels, l) {
			return fmt.Errorf("%w: simulated annotator %q: Bias for unknown label %q", ErrInput, a.ID, l)
		}
		if !(x >= 0) || math.IsInf(x, 0) {
			return fmt.Errorf("%w: simulated annotator %q: Bias[%s] %v, want finite ≥ 0", ErrInput, a.ID, l, x)
		}
	}
	if a.Spam == SpamConstant && a.constant(labels) < 0 {
		return fmt.Errorf("%w: simulated annotator %q: SpamLabel %q not a label", ErrInput, a.ID, a.SpamLabel)
	}
	if a.Spam < Honest || a.Spam > SpamConstant {
		return fmt.Errorf("%w: simulated annotator %q: unknown Spam %d", ErrInput, a.ID, a.Spam)
	}
	if a.MedianTime < 0 || !(a.TimeSpread >= 0) {
		return fmt.Errorf("%w: simulated annotator %q: MedianTime %v, TimeSpread %v, want ≥ 0", ErrInput, a.ID, a.MedianTime, a.TimeSpread)
	}
	return nil
}

// SimAnswer is a simulated annotator's answer.
type SimAnswer struct {
	Label string
	// Time is how long the annotator takes to answer.
	Time time.Duration
}

// Simulator produces simulated annotators' answers. An answer depends
// only on the seed, the annotator's ID and settings, the item and its true
// label: not on call order, so an engine driving many simulated
// annotators concurrently gets reproducible answers.
type Simulator struct {
	seed   uint64
	labels []string
}

// NewSimulator returns a simulator over a label set of at least two
// distinct labels.
func NewSimulator(seed uint64, labels []string) (*Simulator, error) {
	if len(labels) < 2 {
		return nil, fmt.Errorf("new simulator: %w: %d labels, want at least 2", ErrInput, len(labels))
	}
	for i, l := range labels {
		if l == "" || slices.Contains(labels[:i], l) {
			return nil, fmt.Errorf("new simulator: %w: empty or repeated label %q", ErrInput, l)
		}
	}
	return &Simulator{seed: seed, labels: slices.Clone(labels)}, nil
}

// Labels returns the label set.
func (s *Simulator) Labels() []string { return slices.Clone(s.labels) }

// Answer returns annotator a's answer to item, whose true label is truth.
func (s *Simulator) Answer(a *Annotator, item, truth string) (SimAnswer, error) {
	if err := a.validate(s.labels); err != nil {
		return SimAnswer{}, err
	}
	t := slices.Index(s.labels, truth)
	if t < 0 {
		return SimAnswer{}, fmt.Errorf("%w: simulator: item %q: true label %q not in %q", ErrInput, item, truth, s.labels)
	}
	rng := s.rng(a.ID, item)
	// The draws happen in a fixed order whatever the branch, so changing
	// one setting does not reshuffle the others' randomness.
	u, v, z := rng.Float64(), rng.Float64(), rng.NormFloat64()
	k := len(s.labels)
	var l int
	switch a.Spam {
	case SpamRandom:
		l = min(int(u*float64(k)), k-1)
	case SpamConstant:
		l = a.constant(s.labels)
	default:
		l = t
		if u >= a.accuracy(truth) {
			l = s.wrong(a, t, v)
		}
	}
	d := time.Duration(float64(a.MedianTime) * math.Exp(a.TimeSpread*z))
	return SimAnswer{Label: s.labels[l], Time: d}, nil
}

// wrong draws a label other than t, weighted by the annotator's bias.
func (s *Simulator) wrong(a *Annotator, t int, v float64) int {
	total := 0.0
	for l, name := range s.labels {
		if l != t {
			total += a.bias(name)
		}
	}
	if total == 0 {
		return t
	}
	x := v * total
	last := t
	for l, name := range s.labels {
		if l == t {
			continue
		}
		if w := a.bias(name); w > 0 {
			last = l
			if x < w {
				return l
			}
			x -= w
		}
	}
	return last // rounding at the top end
}

func (s *Simulator) rng(parts ...string) *rand.Rand {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return rand.New(rand.NewPCG(s.seed, h.Sum64()))
}

// CrowdConfig describes a population of simulated annotators.
type CrowdConfig struct {
	// Honest annotators have an accuracy drawn uniformly from
	// [MinAccuracy, MaxAccuracy].
	Honest                   int
	MinAccuracy, MaxAccuracy float64
	// RandomSpammers answer uniformly at random; ConstantSpammers always
	// answer the first label.
	RandomSpammers, ConstantSpammers int
	// MedianTime and TimeSpread set every honest annotator's speed;
	// spammers answer five times faster.
	MedianTime time.Duration
	TimeSpread float64
}

// Crowd builds a population: honest annotators "h000", "h001", …, then
// random spammers "r000", … and constant spammers "c000", …, with
// accuracies drawn from the simulator's seed.
func (s *Simulator) Crowd(cfg CrowdConfig) ([]Annotator, error) {
	if cfg.Honest < 0 || cfg.RandomSpammers < 0 || cfg.ConstantSpammers < 0 {
		return nil, fmt.Errorf("simulated crowd: %w: negative population", ErrInput)
	}
	if !(0 <= cfg.MinAccuracy && cfg.MinAccuracy <= cfg.MaxAccuracy && cfg.MaxAccuracy <= 1) {
		return nil, fmt.Errorf("simulated crowd: %w: accuracy range [%v, %v], want within [0, 1]", ErrInput, cfg.MinAccuracy, cfg.MaxAccuracy)
	}
	rng := s.rng("crowd")
	var out []Annotator
	for i := range cfg.Honest {
		out = append(out, Annotator{
			ID:         fmt.Sprintf("h%03d", i),
			Accuracy:   cfg.MinAccuracy + rng.Float64()*(cfg.MaxAccuracy-cfg.MinAccuracy),
			MedianTime: cfg.MedianTime,
			TimeSpread: cfg.TimeSpread,
		})
	}
	for i := range cfg.RandomSpammers {
		out = append(out, Annotator{ID: fmt.Sprintf("r%03d", i), Spam: SpamRandom, MedianTime: cfg.MedianTime / 5, TimeSpread: cfg.TimeSpread})
	}
	for i := range cfg.ConstantSpammers {
		out = append(out, Annotator{ID: fmt.Sprintf("c%03d", i), Spam: SpamConstant, MedianTime: cfg.MedianTime / 5, TimeSpread: cfg.TimeSpread})
	}
	return out, nil
}

// Collect simulates a whole campaign offline: every item of truth (in
// sorted order) is answered by k distinct annotators drawn from crowd by
// the seed and the item. It is the answer set the engine would collect
// with fixed redundancy k, for tests and benchmarks.
func (s *Simulator) Collect(crowd []Annotator, truth Truth, k int) ([]Answer, error) {
	if k < 1 || k > len(crowd) {
		return nil, fmt.Errorf("simulate: %w: k %d, want 1..%d (the crowd's size)", ErrInput, k, len(crowd))
	}
	items := make([]string, 0, len(truth))
	for q := range truth {
		items = append(items, q)
	}
	slices.Sort(items)
	out := make([]Answer, 0, len(items)*k)
	for _, q := range items {
		for _, j := range s.rng("assign", q).Perm(len(crowd))[:k] {
			ans, err := s.Answer(&crowd[j], q, truth[q])
			if err != nil {
				return nil, fmt.Errorf("simulate: %w", err)
			}
			out = append(out, Answer{Question: q, Worker: crowd[j].ID, Label: ans.Label})
		}
	}
	return out, nil
}
