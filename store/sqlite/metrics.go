package sqlite

import (
	"context"
	"fmt"

	"github.com/myriadhq/myriad/task"
)

func (t *txn) MetricAdd(ctx context.Context, jobID string, points []task.MetricPoint) error {
	for _, p := range points {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO metrics (job_id, stage, series, name, step, value) VALUES (?, ?, ?, ?, ?, ?)`,
			jobID, p.Stage, p.Series, p.Name, p.Step, p.Value); err != nil {
			return fmt.Errorf("add metrics: %w", err)
		}
	}
	return nil
}

// MetricList returns a job's metric points in the order they were added.
func (s *Store) MetricList(ctx context.Context, jobID string) ([]task.MetricPoint, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT stage, series, name, step, value FROM metrics WHERE job_id = ? ORDER BY seq`, jobID)
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
