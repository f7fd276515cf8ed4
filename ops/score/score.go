// Package score is the operator that scores a job's final labels against
// known true labels: how often the model alone was right and how often
// the final labels (model + people) are. It reports both as job metrics,
// so the dashboard shows them beside the training curves, and emits one
// summary item. The demo (examples/demo.yaml) ends with it; the true
// labels come from the test split predict labelled.
package score

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"

	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// Op is the operator's name.
const Op = "score"

// Doc is the operator's one-line description.
const Doc = "scores final labels against true labels: model alone and model + people, as metrics and one summary item"

// Metric names the operator reports (step 1).
const (
	MetricModel = "accuracy_model_alone"
	MetricFinal = "accuracy_model_plus_people"
)

// Params name the fields of the labelled items.
type Params struct {
	// Truth holds the true label; default "true_label".
	Truth string `json:"truth,omitempty"`
	// Label holds the final label; default "label".
	Label string `json:"label,omitempty"`
	// ModelLabel holds the model's label where people replaced it;
	// default "model_label" (else the item's label was the model's).
	ModelLabel string `json:"model_label,omitempty"`
	// Source says where the label came from; default "source".
	Source string `json:"source,omitempty"`
}

// Summary is the operator's output item.
type Summary struct {
	Items         int            `json:"items"`
	Known         int            `json:"known"`
	BySource      map[string]int `json:"by_source"`
	ModelAccuracy float64        `json:"accuracy_model_alone"`
	FinalAccuracy float64        `json:"accuracy_model_plus_people"`
	// HumanItems were labelled by people; of them, how often the model
	// and the people were right.
	HumanItems         int     `json:"human_items"`
	ModelOnHumanItems  float64 `json:"model_accuracy_on_human_items"`
	PeopleOnHumanItems float64 `json:"people_accuracy_on_human_items"`
}

// Info describes the operator to a coordinator: a reduce, with its check.
func Info() coord.OpInfo { return coord.OpInfo{Name: Op, Reduce: true, Check: Check} }

// Register adds the operator to r.
func Register(r *worker.Registry) { r.Handle(Op, run) }

// Check checks a stage's params at submit.
func Check(_ *spec.Stage, s *task.Stage) []spec.ParamError {
	if _, err := decode(s.Params); err != nil {
		return []spec.ParamError{{Msg: err.Error()}}
	}
	return nil
}

func decode(raw json.RawMessage) (*Params, error) {
	var p Params
	if len(raw) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return nil, err
		}
	}
	p.Truth = cmp.Or(p.Truth, "true_label")
	p.Label = cmp.Or(p.Label, "label")
	p.ModelLabel = cmp.Or(p.ModelLabel, "model_label")
	p.Source = cmp.Or(p.Source, "source")
	return &p, nil
}

func run(_ context.Context, t *worker.Task) ([]task.Item, error) {
	p, err := decode(t.Params)
	if err != nil {
		return nil, worker.Permanent(fmt.Errorf("stage %s: params: %w", t.Stage, err))
	}
	s := &Summary{BySource: map[string]int{}}
	for _, it := range t.Items {
		var m map[string]any
		if err := json.Unmarshal(it.Data, &m); err != nil {
			return nil, worker.Permanent(fmt.Errorf("item %s: want an object: %w", it.ID, err))
		}
		s.Add(p, m)
	}
	s.finish()
	if s.Known > 0 {
		t.Metric(MetricModel, 1, s.ModelAccuracy)
		t.Metric(MetricFinal, 1, s.FinalAccuracy)
	}
	data, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	return []task.Item{{ID: "score", Data: data}}, nil
}

// Add counts one labelled item.
func (s *Summary) Add(p *Params, m map[string]any) {
	s.Items++
	src, _ := m[p.Source].(string)
	s.BySource[src]++
	truth, ok := m[p.Truth].(string)
	if !ok {
		return
	}
	s.Known++
	final, _ := m[p.Label].(string)
	model := final
	if ml, ok := m[p.ModelLabel].(string); ok {
		model = ml
	}
	if model == truth {
		s.ModelAccuracy++
	}
	if final == truth {
		s.FinalAccuracy++
	}
	if src == "human" {
		s.HumanItems++
		if model == truth {
			s.ModelOnHumanItems++
		}
		if final == truth {
			s.PeopleOnHumanItems++
		}
	}
}

func (s *Summary) finish() {
	if s.Known > 0 {
		s.ModelAccuracy /= float64(s.Known)
		s.FinalAccuracy /= float64(s.Known)
	}
	if s.HumanItems > 0 {
		s.ModelOnHumanItems /= float64(s.HumanItems)
		s.PeopleOnHumanItems /= float64(s.HumanItems)
	}
}

// Score scores items (decoded objects) with default params: what the CLI
// computes from a job's results.
func Score(items []map[string]any) Summary {
	p, _ := decode(nil)
	s := Summary{BySource: map[string]int{}}
	for _, m := range items {
		s.Add(p, m)
	}
	s.finish()
	return s
}
