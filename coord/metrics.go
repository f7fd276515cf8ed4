package coord

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/myriadhq/myriad/store"

	"github.com/myriadhq/myriad/task"
)

// MaxMetricsPerCompletion bounds the metric points one completion may
// carry; the rest are dropped (a curve point per batch of a long run
// would otherwise flood the store).
const MaxMetricsPerCompletion = 10000

// metricPoints stamps reported points with the stage that produced them
// and drops those JSON cannot carry (NaN, ±Inf) or without a name.
func metricPoints(in []task.MetricPoint, stage string) []task.MetricPoint {
	out := make([]task.MetricPoint, 0, min(len(in), MaxMetricsPerCompletion))
	for _, p := range in {
		if len(out) == MaxMetricsPerCompletion {
			break
		}
		if p.Name == "" || math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
			continue
		}
		p.Stage = stage
		out = append(out, p)
	}
	return out
}

// Metrics returns a job's metric points (training curves) in the order
// they were committed; ErrNotFound if there is no such job.
func (c *Coordinator) Metrics(ctx context.Context, jobID string) ([]task.MetricPoint, error) {
	if _, err := c.st.JobGet(ctx, jobID); errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("job %s: %w", jobID, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("job metrics: %w", err)
	}
	points, err := c.st.MetricList(ctx, jobID)
	if err != nil {
		return nil, fmt.Errorf("job metrics: %w", err)
	}
	return append(points, c.liveMetrics(jobID)...), nil
}

// liveMetrics are the points the job's running attempts have recorded so
// far (api.TaskProgress), by microtask id: a long training shows its curve
// as it goes. They are not stored: the completion's points are, and a
// failed attempt's go with it. A coordinator knows only the progress its
// own workers sent (with several coordinators on one store, another one
// shows the stored points alone).
func (c *Coordinator) liveMetrics(jobID string) []task.MetricPoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	var running []*attempt
	for _, a := range c.attempts {
		if len(a.live) > 0 && a.job.job.ID == jobID {
			running = append(running, a)
		}
	}
	slices.SortFunc(running, func(x, y *attempt) int { return cmp.Compare(x.taskID, y.taskID) })
	var out []task.MetricPoint
	for _, a := range running {
		out = append(out, a.live...)
	}
	return out
}
