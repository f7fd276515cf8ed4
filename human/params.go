package human

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/myriadhq/myriad/crowd"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
)

// Op is the operator name of human stages.
const Op = "human"

// Defaults of a human stage's params.
const (
	DefaultK            = 3
	DefaultThreshold    = 0.95
	DefaultLease        = 10 * time.Minute
	DefaultGoldRate     = 0.1
	DefaultGoldMin      = 5
	DefaultGoldAccuracy = 0.6
	DefaultTextField    = "text"
	DefaultImageField   = "image"
	DefaultGoldField    = "gold"
	// DefaultStageTimeout is a human stage's timeout when the spec gives
	// none: people take days, not the ten minutes machines get.
	DefaultStageTimeout = task.Duration(30 * 24 * time.Hour)
	// MaxLabels bounds a label set; keys 1-9 answer the first nine.
	MaxLabels = 50
	// MaxAnswersPerItem bounds k and k_max.
	MaxAnswersPerItem = 100
)

// Params are a human stage's params, as written in the job spec.
type Params struct {
	// Title heads the instructions and every task; default the stage name.
	Title string `json:"title,omitempty"`
	// Instructions is free text shown before the first task.
	Instructions string `json:"instructions,omitempty"`
	// Labels are the answers, in button order: names, or objects with a
	// description and example items.
	Labels []Label `json:"labels"`
	// Rules are shown as a list under the instructions.
	Rules []string `json:"rules,omitempty"`
	// TextField and ImageField name the item fields shown to people; a
	// string item is shown as text. Fields lists more fields shown as
	// "name: value" lines.
	TextField  string   `json:"text_field,omitempty"`
	ImageField string   `json:"image_field,omitempty"`
	Fields     []string `json:"fields,omitempty"`

	// Redundancy: K answers per item (fixed), or, with KMax above the
	// minimum, adaptive: stop once the label's posterior reaches
	// Threshold with at least MinAnswers answers, at most KMax.
	K          int     `json:"k,omitempty"`
	KMax       int     `json:"k_max,omitempty"`
	MinAnswers int     `json:"min_answers,omitempty"`
	Threshold  float64 `json:"threshold,omitempty"`
	// Aggregate is the method of the final labels: ds (Dawid-Skene,
	// default) or mv (majority vote).
	Aggregate string `json:"aggregate,omitempty"`

	// Route sends only the items the model is unsure of to people
	// (active learning).
	Route *Route `json:"route,omitempty"`
	// Gold configures gold questions and pausing.
	Gold *Gold `json:"gold,omitempty"`
	// Qualification is a test to pass before real work.
	Qualification *Qualification `json:"qualification,omitempty"`

	// AnnotatorLabels limits the stage to annotators with these labels.
	AnnotatorLabels map[string]string `json:"annotator_labels,omitempty"`
	// MaxPerAnnotator caps one annotator's answers in the stage (0: no cap).
	MaxPerAnnotator int `json:"max_per_annotator,omitempty"`
	// Lease is how long an annotator holds an item; default 10m.
	Lease task.Duration `json:"lease,omitempty"`

	// Reward is paid per answer (gold included, the qualification test
	// not); Budget caps the stage's spending (0: no cap). Issuing stops
	// when the next answer could pass the cap.
	Reward   float64 `json:"reward,omitempty"`
	Budget   float64 `json:"budget,omitempty"`
	Currency string  `json:"currency,omitempty"`
}

// Label is one answer of the label set.
type Label struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Examples    []Example `json:"examples,omitempty"`
}

// UnmarshalJSON takes a name or an object.
func (l *Label) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err == nil {
		*l = Label{Name: name}
		return nil
	}
	type plain Label
	var p plain
	if err := strictDecode(b, &p); err != nil {
		return err
	}
	*l = Label(p)
	return nil
}

// Example is an example item shown with a label: text, or an object with
// text and/or image.
type Example struct {
	Text  string `json:"text,omitempty"`
	Image string `json:"image,omitempty"`
}

// UnmarshalJSON takes a string (text) or an object.
func (e *Example) UnmarshalJSON(b []byte) error {
	var text string
	if err := json.Unmarshal(b, &text); err == nil {
		*e = Example{Text: text}
		return nil
	}
	type plain Example
	var p plain
	if err := strictDecode(b, &p); err != nil {
		return err
	}
	*e = Example(p)
	return nil
}

// Route routes items by the upstream model's confidence.
type Route struct {
	// Field holds the model's probability of its label (default
	// "probability"; "prob" is tried too); LabelField its label (default
	// "label"). Dotted paths reach into objects ("prediction.prob").
	Field      string `json:"field,omitempty"`
	LabelField string `json:"label_field,omitempty"`
	// Below is τ: items whose probability is below it go to people; the
	// others keep the model's label.
	Below float64 `json:"below"`
}

// Gold configures gold questions.
type Gold struct {
	// Items are gold questions given with the stage (never in the
	// output): each an item and its known answer.
	Items []GoldItem `json:"items,omitempty"`
	// Field marks items of the job itself as gold: an item whose Field
	// holds a label is a gold question and keeps that label (source
	// "gold"). Default "gold".
	Field string `json:"field,omitempty"`
	// Rate is the share of tasks that are gold questions; default 0.1.
	Rate float64 `json:"rate,omitempty"`
	// MinAnswers gold answers are needed before an annotator is judged;
	// default 5.
	MinAnswers int `json:"min_answers,omitempty"`
	// MinAccuracy: an annotator whose gold accuracy is below it is
	// paused in the stage; default 0.6, negative disables.
	MinAccuracy float64 `json:"min_accuracy,omitempty"`
	// PausedAnswers says what becomes of a paused annotator's answers:
	// exclude (default; their items get other answers instead) or
	// downweight (kept, weighted by the annotator's estimated quality).
	PausedAnswers string `json:"paused_answers,omitempty"`
}

// GoldItem is an item with a known answer.
type GoldItem struct {
	ID     string          `json:"id"`
	Data   json.RawMessage `json:"data"`
	Answer string          `json:"answer"`
}

// Qualification is a test an annotator takes before real work.
type Qualification struct {
	Items       []GoldItem `json:"items"`
	MinAccuracy float64    `json:"min_accuracy"`
}

// Paused-answer policies.
const (
	PausedExclude    = "exclude"
	PausedDownweight = "downweight"
)

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the value")
	}
	return nil
}

// ParseParams decodes and checks a human stage's params (as compiled into
// the job, JSON) and fills their defaults. stageName is the default
// title. Problems are reported together, each naming its field.
func ParseParams(raw json.RawMessage, stageName string) (*Params, []spec.ParamError) {
	var p Params
	if len(raw) == 0 || string(raw) == "null" {
		return nil, []spec.ParamError{{Msg: "a human stage needs params: at least labels"}}
	}
	if err := strictDecode(raw, &p); err != nil {
		return nil, []spec.ParamError{decodeError(err)}
	}
	p.fill(stageName)
	return &p, p.check()
}

func decodeError(err error) spec.ParamError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return spec.ParamError{Field: te.Field, Msg: fmt.Sprintf("got %s, want %s", te.Value, friendly(te.Type.String()))}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if f, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return spec.ParamError{Msg: "unknown field " + f + " (see docs/human.md for a human stage's params)"}
	}
	return spec.ParamError{Msg: msg}
}

func friendly(t string) string {
	switch {
	case strings.HasPrefix(t, "int"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	}
	return "a mapping"
}

func (p *Params) check() []spec.ParamError {
	var errs []spec.ParamError
	add := func(field, format string, args ...any) {
		errs = append(errs, spec.ParamError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	switch {
	case len(p.Labels) < 2:
		add("labels", "a human stage needs at least two labels, got %d", len(p.Labels))
	case len(p.Labels) > MaxLabels:
		add("labels", "%d labels, at most %d", len(p.Labels), MaxLabels)
	}
	seen := map[string]int{}
	for i, l := range p.Labels {
		f := fmt.Sprintf("labels[%d]", i)
		switch {
		case strings.TrimSpace(l.Name) == "":
			add(f, "a label needs a name")
		case len(l.Name) > 100:
			add(f+".name", "at most 100 characters")
		case seen[l.Name] > 0:
			add(f, "%q is already labels[%d]", l.Name, seen[l.Name]-1)
		}
		seen[l.Name] = i + 1
		for k, ex := range l.Examples {
			if ex.Image != "" && !safeImage(ex.Image) {
				add(fmt.Sprintf("%s.examples[%d].image", f, k), "want an http(s) URL or a data:image/ URI")
			}
		}
	}
	isLabel := func(s string) bool { return seen[s] > 0 }
	for _, n := range []struct {
		field string
		v     int
	}{{"k", p.K}, {"k_max", p.KMax}, {"min_answers", p.MinAnswers}} {
		if n.v < 0 || n.v > MaxAnswersPerItem {
			add(n.field, "%d is out of range (1..%d)", n.v, MaxAnswersPerItem)
		}
	}
	if p.Threshold != 0 && !(p.Threshold > 0 && p.Threshold < 1) {
		add("threshold", "%v is out of range (0 < threshold < 1)", p.Threshold)
	}
	if len(errs) == 0 {
		if pol := p.policy(); pol.MaxAnswers < pol.MinAnswers {
			add("k_max", "%d is below the minimum answers per item (%d)", pol.MaxAnswers, pol.MinAnswers)
		}
	}
	if _, err := crowd.ParseMethod(strings.TrimSpace(p.Aggregate)); p.Aggregate != "" && err != nil {
		add("aggregate", "unknown method %q (want ds or mv)", p.Aggregate)
	}
	if r := p.Route; r != nil && !(r.Below > 0 && r.Below <= 1) {
		add("route.below", "%v is out of range (0 < below <= 1)", r.Below)
	}
	if g := p.Gold; g != nil {
		if g.Rate < 0 || g.Rate >= 1 || math.IsNaN(g.Rate) {
			add("gold.rate", "%v is out of range (0 <= rate < 1)", g.Rate)
		}
		if g.MinAnswers < 0 {
			add("gold.min_answers", "%d is negative", g.MinAnswers)
		}
		if g.MinAccuracy > 1 {
			add("gold.min_accuracy", "%v is above 1", g.MinAccuracy)
		}
		switch g.PausedAnswers {
		case "", PausedExclude, PausedDownweight:
		default:
			add("gold.paused_answers", "unknown policy %q (want exclude or downweight)", g.PausedAnswers)
		}
		ids := map[string]bool{}
		for i, it := range g.Items {
			f := fmt.Sprintf("gold.items[%d]", i)
			switch {
			case it.ID == "":
				add(f+".id", "missing")
			case ids[it.ID]:
				add(f+".id", "%q is listed twice", it.ID)
			}
			ids[it.ID] = true
			if !isLabel(it.Answer) {
				add(f+".answer", "%q is not one of the labels", it.Answer)
			}
			if len(it.Data) == 0 {
				add(f+".data", "missing: the item to show")
			} else if displayEmpty(p.display(it.Data)) {
				add(f+".data", "nothing to show: %s", p.showHint())
			}
		}
	}
	if q := p.Qualification; q != nil {
		if len(q.Items) == 0 {
			add("qualification.items", "a qualification test needs items")
		}
		if !(q.MinAccuracy >= 0 && q.MinAccuracy <= 1) {
			add("qualification.min_accuracy", "%v is out of range (0..1)", q.MinAccuracy)
		}
		for i, it := range q.Items {
			f := fmt.Sprintf("qualification.items[%d]", i)
			if !isLabel(it.Answer) {
				add(f+".answer", "%q is not one of the labels", it.Answer)
			}
			if len(it.Data) == 0 || displayEmpty(p.display(it.Data)) {
				add(f+".data", "nothing to show: %s", p.showHint())
			}
		}
	}
	if p.MaxPerAnnotator < 0 {
		add("max_per_annotator", "%d is negative", p.MaxPerAnnotator)
	}
	if p.Lease < 0 || (p.Lease > 0 && p.Lease.D() < time.Second) {
		add("lease", "%v: want at least 1s", p.Lease.D())
	}
	if p.Reward < 0 || math.IsNaN(p.Reward) {
		add("reward", "%v is negative", p.Reward)
	}
	if p.Budget < 0 || math.IsNaN(p.Budget) {
		add("budget", "%v is negative", p.Budget)
	}
	if p.Budget > 0 && p.Reward == 0 {
		add("budget", "a budget needs a reward per answer")
	}
	return errs
}

func (p *Params) fill(stageName string) {
	if p.Title == "" {
		p.Title = stageName
	}
	if p.TextField == "" {
		p.TextField = DefaultTextField
	}
	if p.ImageField == "" {
		p.ImageField = DefaultImageField
	}
	if p.Aggregate == "" {
		p.Aggregate = string(crowd.MethodDawidSkene)
	}
	if p.Lease == 0 {
		p.Lease = task.Duration(DefaultLease)
	}
	if r := p.Route; r != nil && r.LabelField == "" {
		r.LabelField = "label"
	}
	if g := p.Gold; g != nil {
		if g.Rate == 0 && len(g.Items) > 0 {
			g.Rate = DefaultGoldRate
		}
		if g.Field == "" {
			g.Field = DefaultGoldField
		}
		if g.MinAnswers == 0 {
			g.MinAnswers = DefaultGoldMin
		}
		if g.MinAccuracy == 0 {
			g.MinAccuracy = DefaultGoldAccuracy
		}
		if g.PausedAnswers == "" {
			g.PausedAnswers = PausedExclude
		}
	}
}

// policy is the redundancy policy the params describe: K sets both ends
// (fixed redundancy) unless MinAnswers or KMax say otherwise.
func (p *Params) policy() crowd.RedundancyPolicy {
	m := p.MinAnswers
	if m == 0 {
		m = p.K
	}
	if m == 0 {
		m = DefaultK
	}
	kmax := p.KMax
	if kmax == 0 {
		kmax = max(p.K, m)
	}
	th := p.Threshold
	if th == 0 {
		th = DefaultThreshold
	}
	return crowd.RedundancyPolicy{Threshold: th, MinAnswers: m, MaxAnswers: kmax}
}

// adaptive reports whether items may stop before k_max.
func (p *Params) adaptive() bool {
	pol := p.policy()
	return pol.MaxAnswers > pol.MinAnswers
}

func (p *Params) labelNames() []string {
	out := make([]string, len(p.Labels))
	for i, l := range p.Labels {
		out[i] = l.Name
	}
	return out
}

func (p *Params) showHint() string {
	return fmt.Sprintf("want a string item, or an object with a %q (text) or %q (image URL) field", p.TextField, p.ImageField)
}

// CheckStage checks a human stage at submit (it is coord.OpInfo.Check
// for the human operator): its params, and that it is a reduce stage,
// whose one microtask collects all of its items. A stage without an
// explicit timeout gets DefaultStageTimeout.
func CheckStage(raw *spec.Stage, s *task.Stage) []spec.ParamError {
	_, errs := ParseParams(s.Params, s.Name)
	if s.Kind != task.Reduce {
		errs = append(errs, spec.ParamError{Msg: "a human stage is a reduce stage (its one microtask collects all its items); remove kind: map"})
	}
	if raw != nil && raw.Timeout == "" {
		s.Timeout = DefaultStageTimeout
	}
	return errs
}
