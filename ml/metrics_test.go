package ml

import (
	"errors"
	"math"
	"testing"
)

func TestEvaluateConfusionPrecisionRecall(t *testing.T) {
	t.Parallel()
	classes := []string{"a", "b", "c"}
	probs := []float32{
		0.8, 0.1, 0.1, // a → a
		0.6, 0.3, 0.1, // b → a
		0.1, 0.7, 0.2, // b → b
		0.2, 0.2, 0.6, // a → c
	}
	labels := []int{0, 1, 1, 0}
	ev, err := Evaluate(probs, labels, classes)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Accuracy != 0.5 || ev.Items != 4 {
		t.Errorf("accuracy %v items %d", ev.Accuracy, ev.Items)
	}
	wantConf := [][]int{{1, 0, 1}, {1, 1, 0}, {0, 0, 0}}
	for i := range wantConf {
		for j := range wantConf[i] {
			if ev.Confusion[i][j] != wantConf[i][j] {
				t.Fatalf("confusion %v, want %v", ev.Confusion, wantConf)
			}
		}
	}
	// a: predicted twice, right once; b: predicted once, right; c: predicted once, wrong, no support.
	wantP, wantR := []float64{0.5, 1, 0}, []float64{0.5, 0.5, 0}
	for c := range 3 {
		if ev.Precision[c] != wantP[c] || ev.Recall[c] != wantR[c] {
			t.Errorf("class %s: precision %v recall %v, want %v %v", classes[c], ev.Precision[c], ev.Recall[c], wantP[c], wantR[c])
		}
	}
	wantLoss := -(math.Log(0.8) + math.Log(0.3) + math.Log(0.7) + math.Log(0.2)) / 4
	if math.Abs(ev.Loss-wantLoss) > 1e-6 {
		t.Errorf("loss %v, want %v", ev.Loss, wantLoss)
	}
	if _, err := Evaluate(probs, []int{0, 1, 5, 0}, classes); !errors.Is(err, ErrLabels) {
		t.Errorf("label outside classes: got %v, want ErrLabels", err)
	}
	if _, err := Evaluate(probs[:5], labels, classes); !errors.Is(err, ErrData) {
		t.Errorf("ragged probabilities: got %v, want ErrData", err)
	}
}

func TestLabelIndex(t *testing.T) {
	t.Parallel()
	y, err := LabelIndex([]string{"dog", "cat", "dog"}, []string{"cat", "dog"})
	if err != nil || y[0] != 1 || y[1] != 0 {
		t.Fatalf("got %v %v", y, err)
	}
	if _, err := LabelIndex([]string{"dog", ""}, []string{"cat", "dog"}); !errors.Is(err, ErrLabels) || err.Error() != "ml: bad labels: item 1 has no label" {
		t.Errorf("missing label: %v", err)
	}
	if _, err := LabelIndex([]string{"cow"}, []string{"cat", "dog"}); !errors.Is(err, ErrLabels) {
		t.Errorf("unknown label: %v", err)
	}
}

func TestPreprocessApplyUint8(t *testing.T) {
	t.Parallel()
	p := Preprocess{Shape: []int{2, 1, 2}, Scale: 0.5, Mean: []float64{1, 0}, Std: []float64{2, 4}}
	got, err := p.ApplyUint8([]uint8{2, 4, 8, 16})
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 0.5, 1, 2} // channel 0: (v/2-1)/2; channel 1: (v/2)/4
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if _, err := p.ApplyUint8([]uint8{1, 2, 3}); !errors.Is(err, ErrData) {
		t.Errorf("partial item: got %v", err)
	}
	p.Std[1] = 0
	if _, err := p.ApplyUint8([]uint8{1, 2, 3, 4}); !errors.Is(err, ErrData) {
		t.Errorf("zero std: got %v", err)
	}
}
