package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

const jobColumns = `id, name, state, priority, weight, owner, items, stages, created_at, finished_at`

func scanJob(sc interface{ Scan(...any) error }) (*task.Job, error) {
	j := &task.Job{}
	var state string
	var stages []byte
	var created int64
	var finished sql.NullInt64
	if err := sc.Scan(&j.ID, &j.Name, &state, &j.Priority, &j.Weight, &j.Owner, &j.Items, &stages, &created, &finished); err != nil {
		return nil, err
	}
	j.State = task.JobState(state)
	j.CreatedAt = fromMS(created)
	j.FinishedAt = nullMS(finished)
	if err := json.Unmarshal(stages, &j.Stages); err != nil {
		return nil, fmt.Errorf("decode stages of job %s: %w", j.ID, err)
	}
	return j, nil
}

// JobGet implements store.Store.
func (s *Store) JobGet(ctx context.Context, id string) (*task.Job, error) {
	j, err := scanJob(s.r.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("job %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get job: %w", err)
	}
	return j, nil
}

// JobList implements store.Store.
func (s *Store) JobList(ctx context.Context, p *store.JobListParams) ([]*task.Job, error) {
	q := `SELECT ` + jobColumns + ` FROM jobs`
	var where []string
	var args []any
	if p.State != "" {
		where = append(where, "state = ?")
		args = append(args, string(p.State))
	}
	if p.Active {
		where = append(where, "state = ?")
		args = append(args, string(task.JobRunning))
	}
	if p.Owner != "" {
		where = append(where, "owner = ?")
		args = append(args, p.Owner)
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id"
	if p.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", p.Limit)
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	var out []*task.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// StageStates implements store.Store.
func (s *Store) StageStates(ctx context.Context, jobID string) ([]task.StageState, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT idx, state FROM stages WHERE job_id = ? ORDER BY idx`, jobID)
	if err != nil {
		return nil, fmt.Errorf("stage states: %w", err)
	}
	defer rows.Close()
	var out []task.StageState
	for rows.Next() {
		var i int
		var st string
		if err := rows.Scan(&i, &st); err != nil {
			return nil, fmt.Errorf("stage states: %w", err)
		}
		out = append(out, task.StageState(st))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stage states: %w", err)
	}
	if out == nil {
		return nil, fmt.Errorf("stage states of %s: %w", jobID, store.ErrNotFound)
	}
	return out, nil
}

// TaskCounts implements store.Store.
func (s *Store) TaskCounts(ctx context.Context, jobID string) ([]task.Counts, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM stages WHERE job_id = ?`, jobID).Scan(&n); err != nil {
		return nil, fmt.Errorf("count microtasks: %w", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("count microtasks of %s: %w", jobID, store.ErrNotFound)
	}
	out := make([]task.Counts, n)
	rows, err := s.r.QueryContext(ctx, `SELECT stage, state, count(*) FROM microtasks WHERE job_id = ? GROUP BY stage, state`, jobID)
	if err != nil {
		return nil, fmt.Errorf("count microtasks: %w", err)
	}
	for rows.Next() {
		var stage int
		var st task.State
		var c int64
		if err := rows.Scan(&stage, &st, &c); err != nil {
			rows.Close()
			return nil, fmt.Errorf("count microtasks: %w", err)
		}
		if stage >= 0 && stage < n {
			out[stage].Add(st, c)
		}
	}
	rows.Close()
	rows, err = s.r.QueryContext(ctx, `SELECT stage, count(*) FROM pending_items WHERE job_id = ? GROUP BY stage`, jobID)
	if err != nil {
		return nil, fmt.Errorf("count buffered items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var stage int
		var c int64
		if err := rows.Scan(&stage, &c); err != nil {
			return nil, fmt.Errorf("count buffered items: %w", err)
		}
		if stage >= 0 && stage < n {
			out[stage].Pending += c
		}
	}
	return out, rows.Err()
}

// TaskList implements store.Store.
func (s *Store) TaskList(ctx context.Context, p *store.TaskListParams) ([]*task.Microtask, error) {
	q := `SELECT id, job_id, stage, state, attempts, token, coalesce(worker, ''), n_items, coalesce(error, ''), created_at, finished_at
		FROM microtasks WHERE job_id = ?`
	args := []any{p.JobID}
	if p.State != nil {
		q += " AND state = ?"
		args = append(args, int(*p.State))
	}
	if p.Stage != nil {
		q += " AND stage = ?"
		args = append(args, *p.Stage)
	}
	q += " ORDER BY id"
	if p.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", p.Limit)
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list microtasks: %w", err)
	}
	defer rows.Close()
	var out []*task.Microtask
	for rows.Next() {
		m := &task.Microtask{}
		var created int64
		var finished sql.NullInt64
		if err := rows.Scan(&m.ID, &m.JobID, &m.Stage, &m.State, &m.Attempts, &m.Token, &m.Worker, &m.Items, &m.Error, &created, &finished); err != nil {
			return nil, fmt.Errorf("list microtasks: %w", err)
		}
		m.CreatedAt = fromMS(created)
		m.FinishedAt = nullMS(finished)
		out = append(out, m)
	}
	return out, rows.Err()
}

// TaskRunning implements store.Store.
func (s *Store) TaskRunning(ctx context.Context) ([]*store.RunningTask, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, job_id, stage, fence, attempts, coalesce(worker, ''), coalesce(started_at, 0), coalesce(spec_worker, ''), coalesce(spec_token, 0)
		FROM microtasks WHERE state = 2 ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list running microtasks: %w", err)
	}
	defer rows.Close()
	var out []*store.RunningTask
	for rows.Next() {
		r := &store.RunningTask{}
		var started int64
		if err := rows.Scan(&r.ID, &r.JobID, &r.Stage, &r.Token, &r.Attempt, &r.Worker, &started, &r.SpecWorker, &r.SpecToken); err != nil {
			return nil, fmt.Errorf("list running microtasks: %w", err)
		}
		r.StartedAt = fromMS(started)
		out = append(out, r)
	}
	return out, rows.Err()
}

// TaskFailedDue implements store.Store.
func (s *Store) TaskFailedDue(ctx context.Context) (time.Time, error) {
	var v sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT min(not_before) FROM microtasks WHERE state = 4`).Scan(&v); err != nil {
		return time.Time{}, fmt.Errorf("next retry: %w", err)
	}
	if !v.Valid {
		return time.Time{}, nil
	}
	return fromMS(v.Int64), nil
}

// Results implements store.Store.
func (s *Store) Results(ctx context.Context, p *store.ResultsParams, fn func(*store.Result) error) error {
	for _, stage := range p.Stages {
		if err := s.stageResults(ctx, p.JobID, stage, fn); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) stageResults(ctx context.Context, jobID string, stage int, fn func(*store.Result) error) error {
	// Page through by id so a slow consumer does not hold a read
	// transaction (and the WAL) open for the whole export.
	const page = 512
	var after int64
	for {
		rows, err := s.r.QueryContext(ctx, `SELECT id, state, input, result, coalesce(error, '') FROM microtasks
			WHERE job_id = ? AND stage = ? AND state IN (3, 5) AND id > ? ORDER BY id LIMIT ?`, jobID, stage, after, page)
		if err != nil {
			return fmt.Errorf("read results: %w", err)
		}
		type row struct {
			id            int64
			state         task.State
			input, result []byte
			errText       string
		}
		var batch []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.state, &r.input, &r.result, &r.errText); err != nil {
				rows.Close()
				return fmt.Errorf("read results: %w", err)
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read results: %w", err)
		}
		for _, r := range batch {
			after = r.id
			if r.state == task.Done {
				var items []task.Item
				if err := json.Unmarshal(r.result, &items); err != nil {
					return fmt.Errorf("decode result of microtask %d: %w", r.id, err)
				}
				for _, it := range items {
					if err := fn(&store.Result{Stage: stage, TaskID: r.id, ID: it.ID, Data: it.Data, Dropped: it.Dropped}); err != nil {
						return err
					}
				}
				continue
			}
			var items []task.Item
			if r.input != nil {
				if err := json.Unmarshal(r.input, &items); err != nil {
					return fmt.Errorf("decode input of microtask %d: %w", r.id, err)
				}
			}
			if len(items) == 0 {
				items = []task.Item{{ID: fmt.Sprintf("microtask-%d", r.id)}}
			}
			for _, it := range items {
				if err := fn(&store.Result{Stage: stage, TaskID: r.id, ID: it.ID, Error: r.errText}); err != nil {
					return err
				}
			}
		}
		if len(batch) < page {
			return nil
		}
	}
}

// WorkerList implements store.Store.
func (s *Store) WorkerList(ctx context.Context) ([]*task.Worker, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT info FROM workers ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	defer rows.Close()
	var out []*task.Worker
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("list workers: %w", err)
		}
		w := &task.Worker{}
		if err := json.Unmarshal(b, w); err != nil {
			return nil, fmt.Errorf("decode worker: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}
