package task

// MetricPoint is one point of a job's training curves: the value of a
// named metric (loss, accuracy, ...) at a step (an epoch, a round, a
// fold) of one stage. Series tells apart curves of one stage and name,
// e.g. "fold 2" or "trial 3"; "" for a stage's only curve.
type MetricPoint struct {
	Stage  string  `json:"stage"`
	Series string  `json:"series"`
	Name   string  `json:"name"`
	Step   int     `json:"step"`
	Value  float64 `json:"value"`
}
