package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// The shared-store methods of store.Tx. SQLite has one writer, so the
// transaction already excludes every other writer and StageLock needs no
// lock of its own.

func (t *txn) TaskLeases(ctx context.Context, ids []int64) ([]*store.RunningTask, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT id, job_id, stage, fence, attempts, coalesce(worker, ''), coalesce(started_at, 0), coalesce(spec_worker, ''), coalesce(spec_token, 0)
		FROM microtasks WHERE state = 2 AND id IN (?`+strings.Repeat(", ?", len(ids)-1)+`) ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read leases: %w", err)
	}
	defer rows.Close()
	var out []*store.RunningTask
	for rows.Next() {
		r := &store.RunningTask{}
		var started int64
		if err := rows.Scan(&r.ID, &r.JobID, &r.Stage, &r.Token, &r.Attempt, &r.Worker, &started, &r.SpecWorker, &r.SpecToken); err != nil {
			return nil, fmt.Errorf("read leases: %w", err)
		}
		r.StartedAt = fromMS(started)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (t *txn) StageLock(ctx context.Context, jobID string, stage int) (task.StageState, task.Counts, error) {
	var c task.Counts
	var state string
	err := t.tx.QueryRowContext(ctx, `SELECT state FROM stages WHERE job_id = ? AND idx = ?`, jobID, stage).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", c, fmt.Errorf("lock stage %d of job %s: %w", stage, jobID, store.ErrNotFound)
	}
	if err != nil {
		return "", c, fmt.Errorf("lock stage: %w", err)
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT state, count(*) FROM microtasks WHERE job_id = ? AND stage = ? GROUP BY state`, jobID, stage)
	if err != nil {
		return "", c, fmt.Errorf("lock stage: %w", err)
	}
	for rows.Next() {
		var st task.State
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return "", c, fmt.Errorf("lock stage: %w", err)
		}
		c.Add(st, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", c, fmt.Errorf("lock stage: %w", err)
	}
	if err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM pending_items WHERE job_id = ? AND stage = ?`, jobID, stage).Scan(&c.Pending); err != nil {
		return "", c, fmt.Errorf("lock stage: %w", err)
	}
	return task.StageState(state), c, nil
}

func (t *txn) JobFinish(ctx context.Context, id string, state task.JobState, at time.Time) (bool, error) {
	if !state.Final() {
		return false, fmt.Errorf("finish job %s: %q is not a final state", id, state)
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE jobs SET state = ?, finished_at = ? WHERE id = ? AND state = ?`,
		string(state), ms(at), id, string(task.JobRunning))
	if err != nil {
		return false, fmt.Errorf("finish job: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("finish job: %w", err)
	}
	return n == 1, nil
}

func (t *txn) TaskSpeculate(ctx context.Context, p *store.TaskSpeculateParams) (*store.Claimed, error) {
	rows, err := t.tx.QueryContext(ctx, `UPDATE microtasks SET token = token + 1, spec_token = token + 1, spec_worker = ?
		WHERE id = ? AND state = 2 AND spec_token IS NULL AND coalesce(worker, '') <> ?
		RETURNING id, token, attempts, input`, p.Worker, p.ID, p.Worker)
	if err != nil {
		return nil, fmt.Errorf("speculate microtask %d: %w", p.ID, err)
	}
	got, err := scanClaimed(rows)
	if err != nil || len(got) == 0 {
		return nil, err
	}
	return got[0], nil
}

func (t *txn) TaskDropAttempt(ctx context.Context, id, token int64) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `UPDATE microtasks SET spec_token = NULL, spec_worker = NULL
		WHERE id = ? AND state = 2 AND spec_token = ?`, id, token)
	if err != nil {
		return false, fmt.Errorf("drop attempt of microtask %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	res, err = t.tx.ExecContext(ctx, `UPDATE microtasks SET fence = spec_token, worker = spec_worker, spec_token = NULL, spec_worker = NULL
		WHERE id = ? AND state = 2 AND spec_token IS NOT NULL AND fence = ?`, id, token)
	if err != nil {
		return false, fmt.Errorf("drop attempt of microtask %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("drop attempt of microtask %d: %w", id, err)
	}
	return n == 1, nil
}
