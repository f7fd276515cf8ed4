package crowd

// Evaluation compares aggregate labels with known truth.
type Evaluation struct {
	// Compared counts the questions that have both a label and a truth;
	// Correct those whose label equals the truth.
	Compared, Correct int
	// Accuracy is Correct / Compared (0 when nothing was compared).
	Accuracy float64
	// Unlabelled counts truth questions the result has no label for;
	// NoTruth counts labelled questions without a truth. Neither enters
	// Accuracy.
	Unlabelled, NoTruth int
}

// Evaluate measures the accuracy of a result's labels against truth.
func Evaluate(r *Result, truth Truth) Evaluation {
	var ev Evaluation
	for _, it := range r.Items {
		t, ok := truth[it.Question]
		if !ok {
			ev.NoTruth++
			continue
		}
		ev.Compared++
		if it.Label == t {
			ev.Correct++
		}
	}
	ev.Unlabelled = len(truth) - ev.Compared
	if ev.Compared > 0 {
		ev.Accuracy = float64(ev.Correct) / float64(ev.Compared)
	}
	return ev
}
