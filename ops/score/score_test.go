package score

import (
	"encoding/json"
	"testing"

	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

var labelled = []map[string]any{
	{"label": "1", "source": "model", "true_label": "1"},
	{"label": "2", "source": "model", "true_label": "3"},                     // the model was sure and wrong
	{"label": "4", "source": "human", "model_label": "5", "true_label": "4"}, // people fixed it
	{"label": "6", "source": "human", "model_label": "7", "true_label": "7"}, // people got it wrong
	{"label": nil, "source": "none", "model_label": "8", "true_label": "8"},  // nobody answered
	{"label": "9", "source": "model"},                                        // truth unknown: not scored
}

func TestScoreModelAloneAndWithPeople(t *testing.T) {
	t.Parallel()
	s := Score(labelled)
	if s.Items != 6 || s.Known != 5 || s.BySource["model"] != 3 || s.BySource["human"] != 2 || s.BySource["none"] != 1 {
		t.Fatalf("counts %+v", s)
	}
	if s.ModelAccuracy != 3.0/5 || s.FinalAccuracy != 2.0/5 {
		t.Errorf("model alone %v (want 0.6), model + people %v (want 0.4)", s.ModelAccuracy, s.FinalAccuracy)
	}
	if s.HumanItems != 2 || s.ModelOnHumanItems != 0.5 || s.PeopleOnHumanItems != 0.5 {
		t.Errorf("human items %+v", s)
	}
}

func TestOperatorReportsMetrics(t *testing.T) {
	t.Parallel()
	tk := &worker.Task{Stage: "score", Params: json.RawMessage(`{"truth": "true_label"}`)}
	for i, m := range labelled {
		b, _ := json.Marshal(m)
		tk.Items = append(tk.Items, task.Item{ID: string(rune('a' + i)), Data: b})
	}
	out, err := run(t.Context(), tk)
	if err != nil || len(out) != 1 {
		t.Fatalf("run: %v, %d items", err, len(out))
	}
	var s Summary
	if err := json.Unmarshal(out[0].Data, &s); err != nil || s.Known != 5 {
		t.Fatalf("summary %s: %v", out[0].Data, err)
	}
	got := map[string]float64{}
	for _, p := range tk.Metrics() {
		got[p.Name] = p.Value
	}
	if got[MetricModel] != 0.6 || got[MetricFinal] != 0.4 {
		t.Errorf("metrics %v", got)
	}
	tk.Params = json.RawMessage(`{"truth_field": "x"}`)
	if _, err := run(t.Context(), tk); err == nil {
		t.Error("an unknown param was accepted")
	}
	tk.Params = nil
	tk.Items = []task.Item{{ID: "x", Data: json.RawMessage(`"text"`)}}
	if _, err := run(t.Context(), tk); err == nil {
		t.Error("a non-object item was accepted")
	}
}
