package postgres

import (
	"context"
	"fmt"

	"github.com/myriadhq/myriad/task"
)

func (t *txn) MetricAdd(ctx context.Context, jobID string, points []task.MetricPoint) error {
	if len(points) == 0 {
		return nil
	}
	stages, series, names := make([]string, len(points)), make([]string, len(points)), make([]string, len(points))
	steps, values := make([]int64, len(points)), make([]float64, len(points))
	for i, p := range points {
		stages[i], series[i], names[i], steps[i], values[i] = p.Stage, p.Series, p.Name, int64(p.Step), p.Value
	}
	// unnest keeps the points' order in seq: one statement, one round trip.
	_, err := t.tx.Exec(ctx, `INSERT INTO metrics (job_id, stage, series, name, step, value)
		SELECT $1, s, r, n, st, v FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::float8[])
		WITH ORDINALITY AS u(s, r, n, st, v, ord) ORDER BY ord`, jobID, stages, series, names, steps, values)
	if err != nil {
		return fmt.Errorf("add metrics: %w", err)
	}
	return nil
}

// MetricList returns a job's metric points in the order they were added.
func (s *Store) MetricList(ctx context.Context, jobID string) ([]task.MetricPoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT stage, series, name, step, value FROM metrics WHERE job_id = $1 ORDER BY seq`, jobID)
	if err != nil {
		return nil, fmt.Errorf("list metrics: %w", err)
	}
	defer rows.Close()
	out := []task.MetricPoint{}
	for rows.Next() {
		var p task.MetricPoint
		if err := rows.Scan(&p.Stage, &p.Series, &p.Name, &p.Step, &p.Value); err != nil {
			return nil, fmt.Errorf("list metrics: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
