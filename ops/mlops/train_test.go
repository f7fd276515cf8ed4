package mlops_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/ml/gorgonia"
)

// TestTrainEvaluatePredict trains through the engine on a packed dataset
// blob, scores the model, labels held-out digits, and checks the curves
// are stored as job metrics.
func TestTrainEvaluatePredict(t *testing.T) {
	t.Parallel()
	e := setup(t, 2, nil)
	train, test := mnistDigits(t, 0, 300), mnistDigits(t, 5000, 200)
	trainRef, testRef := e.pack(t, train), e.pack(t, test)
	st := e.run(t, fmt.Sprintf(`
name: tiny
input: {items: [{id: digits, dataset: %q}]}
stages:
  - {name: train, op: train, params: {model: %s, validation: {dataset: %q, limit: 100}}}
  - {name: evaluate, op: evaluate, after: [train], params: {data: {dataset: %q}}}
  - {name: predict, op: predict, after: [train], params: {data: {dataset: %q, limit: 50}, threshold: 0.9, probs: true}}
`, trainRef, tinyNet, testRef, testRef, testRef))
	mustCompleted(t, st)

	trained := e.results(t, st.ID, "train")["digits"]
	if got := field[int](t, trained, "trained_on"); got != 300 {
		t.Errorf("trained_on = %d, want 300", got)
	}
	m := e.modelOf(t, field[blob.Ref](t, trained, "model"))
	if m.Spec.Epochs != 3 || len(m.Classes) != 10 {
		t.Fatalf("model file: epochs %d, %d classes; want 3 and 10", m.Spec.Epochs, len(m.Classes))
	}

	ev := field[ml.Evaluation](t, e.results(t, st.ID, "evaluate")["digits"], "evaluation")
	if ev.Items != 200 || ev.Accuracy < 0.5 {
		t.Fatalf("evaluation: %d items, accuracy %.3f; want 200 items well above chance (0.1)", ev.Items, ev.Accuracy)
	}
	total, diag := 0, 0
	for i, row := range ev.Confusion {
		for j, n := range row {
			total += n
			if i == j {
				diag += n
			}
		}
	}
	if total != 200 || math.Abs(float64(diag)/200-ev.Accuracy) > 1e-9 || len(ev.Precision) != 10 || len(ev.Recall) != 10 {
		t.Fatalf("confusion matrix sums to %d (diagonal %d) for accuracy %v; precision/recall of %d/%d classes", total, diag, ev.Accuracy, len(ev.Precision), len(ev.Recall))
	}

	// Predictions match the model file's, item by item; uncertain is
	// exactly probability < threshold.
	want, err := m.Predict(context.Background(), gorgonia.Backend{}, test.X[:50*784])
	if err != nil {
		t.Fatal(err)
	}
	preds := e.results(t, st.ID, "predict")
	if len(preds) != 50 {
		t.Fatalf("%d predictions, want 50", len(preds))
	}
	uncertain := 0
	for i, w := range want {
		p := preds[fmt.Sprintf("digits/%d", i)]
		if p == nil {
			t.Fatalf("no prediction for digits/%d", i)
		}
		label, prob, unc := field[string](t, p, "label"), field[float32](t, p, "probability"), field[bool](t, p, "uncertain")
		if label != w.Label || prob != w.Prob || unc != (prob < 0.9) {
			t.Fatalf("digits/%d: got label %s p %v uncertain %v; the model file says %s p %v", i, label, prob, unc, w.Label, w.Prob)
		}
		if field[string](t, p, "true_label") != test.Classes[test.Y[i]] {
			t.Fatalf("digits/%d: true_label wrong", i)
		}
		if unc {
			uncertain++
		}
	}
	t.Logf("accuracy %.3f, %d of 50 predictions uncertain", ev.Accuracy, uncertain)

	// The curves: loss, accuracy, val_loss, val_accuracy per epoch.
	byName := map[string][]api.MetricPoint{}
	for _, p := range e.metrics(t, st.ID) {
		if p.Stage == "train" {
			byName[p.Name] = append(byName[p.Name], p)
		}
	}
	for _, name := range []string{"loss", "accuracy", "val_loss", "val_accuracy"} {
		if got := byName[name]; len(got) != 3 || got[0].Step != 1 || got[2].Step != 3 {
			t.Fatalf("train %s points: %+v, want epochs 1..3", name, got)
		}
	}
	if loss := byName["loss"]; loss[2].Value >= loss[0].Value {
		t.Fatalf("training loss did not fall: %+v", loss)
	}
}

type blobRef = blob.Ref
