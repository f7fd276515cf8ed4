package ml

import (
	"fmt"
	"math"
)

// Prediction is a model's answer for one item.
type Prediction struct {
	// Class is the index of the most probable class, Label its name.
	Class int    `json:"class"`
	Label string `json:"label"`
	// Prob is the probability of Class: the confidence that decides
	// whether an item goes to people for labelling.
	Prob float32 `json:"prob"`
	// Probs holds every class's probability.
	Probs []float32 `json:"probs"`
}

// Evaluation scores predictions against true labels.
type Evaluation struct {
	Items    int      `json:"items"`
	Classes  []string `json:"classes"`
	Accuracy float64  `json:"accuracy"`
	// Loss is the mean negative log-likelihood of the true class.
	Loss float64 `json:"loss"`
	// Precision[c] = true c / predicted c; Recall[c] = true c / actual c.
	// Both are 0 where the denominator is 0 (JSON has no NaN).
	Precision []float64 `json:"precision"`
	Recall    []float64 `json:"recall"`
	// Support[c] is the number of items whose true class is c.
	Support []int `json:"support"`
	// Confusion[t][p] counts items of true class t predicted as p.
	Confusion [][]int `json:"confusion"`
}

// Predictions turns rows of class probabilities into Predictions.
func Predictions(probs []float32, classes []string) ([]Prediction, error) {
	k := len(classes)
	if k == 0 || len(probs)%k != 0 {
		return nil, fmt.Errorf("%w: %d probabilities for %d classes", ErrData, len(probs), k)
	}
	out := make([]Prediction, len(probs)/k)
	for i := range out {
		row := probs[i*k : (i+1)*k]
		best := 0
		for c, p := range row {
			if p > row[best] {
				best = c
			}
		}
		out[i] = Prediction{Class: best, Label: classes[best], Prob: row[best], Probs: row}
	}
	return out, nil
}

// Evaluate scores rows of class probabilities against labels.
func Evaluate(probs []float32, labels []int, classes []string) (*Evaluation, error) {
	preds, err := Predictions(probs, classes)
	if err != nil {
		return nil, err
	}
	if len(preds) != len(labels) {
		return nil, fmt.Errorf("%w: %d predictions for %d labels", ErrData, len(preds), len(labels))
	}
	k := len(classes)
	ev := &Evaluation{Items: len(labels), Classes: classes,
		Precision: make([]float64, k), Recall: make([]float64, k),
		Support: make([]int, k), Confusion: make([][]int, k)}
	for i := range ev.Confusion {
		ev.Confusion[i] = make([]int, k)
	}
	correct := 0
	nll := 0.0
	for i, p := range preds {
		y := labels[i]
		if y < 0 || y >= k {
			return nil, fmt.Errorf("%w: item %d: label %d is outside the class list (%d classes)", ErrLabels, i, y, k)
		}
		ev.Confusion[y][p.Class]++
		ev.Support[y]++
		if p.Class == y {
			correct++
		}
		// Clamp so one certain mistake does not make the mean infinite.
		nll -= math.Log(max(float64(p.Probs[y]), 1e-30))
	}
	if len(labels) > 0 {
		ev.Accuracy = float64(correct) / float64(len(labels))
		ev.Loss = nll / float64(len(labels))
	}
	for c := range k {
		predicted := 0
		for t := range k {
			predicted += ev.Confusion[t][c]
		}
		if predicted > 0 {
			ev.Precision[c] = float64(ev.Confusion[c][c]) / float64(predicted)
		}
		if ev.Support[c] > 0 {
			ev.Recall[c] = float64(ev.Confusion[c][c]) / float64(ev.Support[c])
		}
	}
	return ev, nil
}
