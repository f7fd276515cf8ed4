package mlops_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/client"
)

// TestBadInputAtSubmit: impossible networks, unknown layers, bad search
// spaces and misspelt params are refused at submit, naming the field,
// and nothing runs.
func TestBadInputAtSubmit(t *testing.T) {
	t.Parallel()
	e := setup(t, 1, nil)
	job := func(stage string) string {
		return "input: {items: [{id: a, dataset: mnist}]}\nstages:\n  - " + stage + "\n"
	}
	cases := []struct {
		name, stage string
		want        []string
	}{
		{"pool below 1x1", `{op: train, params: {model: {input: [1, 4, 4], layers: [{kind: conv, filters: 2, kernel: 3}, {kind: maxpool, size: 2}, {kind: maxpool, size: 2}]}}}`,
			[]string{"stages[0].params.model", "layer 2 (maxpool)", "below 1×1"}},
		{"unknown layer", `{op: train, params: {model: {input: [1, 28, 28], layers: [{kind: convolution, filters: 2}]}}}`,
			[]string{"stages[0].params.model", `unknown "convolution"`}},
		{"no model", `{op: crossval, params: {k: 3}}`, []string{"stages[0].params.model", "missing"}},
		{"misspelt param", `{op: train, params: {model: ` + tinyNet + `, epoch: 3}}`, []string{"stages[0].params", `unknown field "epoch"`}},
		{"param of another op", `{op: train, params: {model: ` + tinyNet + `, threshold: 0.5}}`, []string{"stages[0].params.threshold", "does not apply to train"}},
		{"unknown dataset", `{op: train, params: {model: ` + tinyNet + `, data: {dataset: imagenet}}}`, []string{"stages[0].params.data.dataset", `"imagenet"`}},
		{"bad k", `{op: crossval, params: {model: ` + tinyNet + `, k: 1}}`, []string{"stages[0].params.k", "out of range"}},
		{"impossible trial", `{op: search, params: {model: ` + tinyNet + `, space: [{name: layers.0.kernel, values: [3, 40]}]}}`,
			[]string{"stages[0].params.space", "trial 1", "kernel"}},
		{"evaluate without data", `{op: evaluate}`, []string{"stages[0].params.data", "missing"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.submit(t, job(tc.stage))
			if err == nil {
				t.Fatal("submitted; want an error")
			}
			t.Log(err)
			var ae *client.Error
			if !asClientError(err, &ae) || ae.Status != 400 {
				t.Errorf("error %v: want HTTP 400", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	jobs, err := e.c.Jobs(t.Context(), "", 0)
	if err != nil || len(jobs) != 0 {
		t.Fatalf("jobs after refused submits: %d, %v; want none", len(jobs), err)
	}
}

// TestBadInputAtFirstStep: what only the data shows — a class without
// training items, a diverging run — makes the microtask dead at once
// (no retries) with a message saying what is wrong.
func TestBadInputAtFirstStep(t *testing.T) {
	t.Parallel()
	e := setup(t, 2, nil)
	d := mnistDigits(t, 3000, 100)
	d.Classes = append(slices.Clone(d.Classes), "eleven") // no item has it
	missing := e.pack(t, d)
	good := e.pack(t, mnistDigits(t, 3000, 100))
	st := e.run(t, fmt.Sprintf(`
input: {items: [{id: a}]}
stages:
  - {name: labels, op: train, after: [input], params: {model: %s, data: {dataset: %q}}}
  - {name: diverge, op: train, after: [input], params: {data: {dataset: %q}, model: {input: [1, 28, 28], layers: [{kind: dense, units: 16}], optimizer: sgd, learning_rate: 1.0e+30, seed: 1}}}
`, tinyNet, missing, good))
	if st.State != "completed_with_errors" {
		t.Fatalf("job ended %s, want completed_with_errors", st.State)
	}
	t.Logf("errors: %+v", st.Errors)
	msgs := map[string]string{}
	for _, te := range st.Errors {
		msgs[te.Stage] = te.Error
		if te.Attempts != 1 {
			t.Errorf("stage %s: %d attempts, want 1 (bad input is not retried)", te.Stage, te.Attempts)
		}
	}
	if m := msgs["labels"]; !strings.Contains(m, `class "eleven" has no training items`) {
		t.Errorf("labels: error %q, want it to name the class without items", m)
	}
	if m := msgs["diverge"]; !strings.Contains(m, "not a number") || !strings.Contains(m, "step") {
		t.Errorf("diverge: error %q, want a NaN-loss error naming the step", m)
	}
}

func asClientError(err error, target **client.Error) bool { return errors.As(err, target) }
