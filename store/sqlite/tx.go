package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

type txn struct {
	tx *sql.Tx
	st *stmts
}

var _ store.Tx = (*txn)(nil)

func (t *txn) JobInsert(ctx context.Context, j *task.Job, waiting []int) error {
	stages, err := json.Marshal(j.Stages)
	if err != nil {
		return fmt.Errorf("insert job: %w", err)
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO jobs (id, name, state, priority, weight, owner, items, stages, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, j.ID, j.Name, string(j.State), j.Priority, j.Weight, j.Owner, j.Items, stages, ms(j.CreatedAt))
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE constraint") {
			return fmt.Errorf("insert job %s: %w", j.ID, store.ErrConflict)
		}
		return fmt.Errorf("insert job: %w", err)
	}
	for i := range j.Stages {
		state := task.StageRunning
		for _, w := range waiting {
			if w == i {
				state = task.StageWaiting
			}
		}
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO stages (job_id, idx, state) VALUES (?, ?, ?)`, j.ID, i, string(state)); err != nil {
			return fmt.Errorf("insert stage: %w", err)
		}
	}
	return nil
}

func (t *txn) JobSetState(ctx context.Context, id string, state task.JobState, at time.Time) error {
	var fin any
	if state.Final() {
		fin = ms(at)
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE jobs SET state = ?, finished_at = ? WHERE id = ?`, string(state), fin, id)
	if err != nil {
		return fmt.Errorf("set job state: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set job state %s: %w", id, store.ErrNotFound)
	}
	return nil
}

func (t *txn) StageSetState(ctx context.Context, jobID string, stage int, state task.StageState) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE stages SET state = ? WHERE job_id = ? AND idx = ?`, string(state), jobID, stage); err != nil {
		return fmt.Errorf("set stage state: %w", err)
	}
	return nil
}

func (t *txn) TaskClaim(ctx context.Context, p *store.TaskClaimParams) ([]*store.Claimed, error) {
	var out []*store.Claimed
	if len(p.Prefer) > 0 {
		one := t.tx.StmtContext(ctx, t.st.claimOne)
		for _, id := range p.Prefer {
			if len(out) == p.Limit {
				return out, nil
			}
			if slices.Contains(p.Skip, id) {
				continue
			}
			rows, err := one.QueryContext(ctx, p.Worker, ms(p.Now), id, p.JobID, p.Stage)
			if err != nil {
				return nil, fmt.Errorf("claim microtask %d: %w", id, err)
			}
			got, err := scanClaimed(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, got...)
		}
	}
	if len(out) == p.Limit {
		return out, nil
	}
	var rows *sql.Rows
	var err error
	if len(p.Skip) == 0 {
		rows, err = t.tx.StmtContext(ctx, t.st.claim).QueryContext(ctx, p.Worker, ms(p.Now), p.JobID, p.Stage, p.Limit-len(out))
	} else {
		skip, jerr := json.Marshal(p.Skip)
		if jerr != nil {
			return nil, fmt.Errorf("claim microtasks: %w", jerr)
		}
		rows, err = t.tx.QueryContext(ctx, claimSkipSQL, p.Worker, ms(p.Now), p.JobID, p.Stage, string(skip), p.Limit-len(out))
	}
	if err != nil {
		return nil, fmt.Errorf("claim microtasks: %w", err)
	}
	rest, err := scanClaimed(rows)
	if err != nil {
		return nil, err
	}
	return append(out, rest...), nil
}

func scanClaimed(rows *sql.Rows) ([]*store.Claimed, error) {
	defer rows.Close()
	var out []*store.Claimed
	for rows.Next() {
		c := &store.Claimed{}
		var input []byte
		var created int64
		if err := rows.Scan(&c.ID, &c.Token, &c.Attempt, &input, &created); err != nil {
			return nil, fmt.Errorf("claim microtasks: %w", err)
		}
		if c.Attempt == 1 && created > 0 { // 0: a speculative copy
			c.ReadyAt = fromMS(created)
		}
		if input != nil {
			var err error
			if c.Items, err = decodeItems(input); err != nil {
				return nil, fmt.Errorf("claim microtask %d: decode input: %w", c.ID, err)
			}
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim microtasks: %w", err)
	}
	return out, nil
}

func (t *txn) TaskFinish(ctx context.Context, p *store.TaskFinishParams) (bool, error) {
	var res sql.Result
	var err error
	rt := p.Runtime.Milliseconds()
	if p.State == task.Done {
		out, merr := resultJSON(p)
		if merr != nil {
			return false, merr
		}
		res, err = t.tx.StmtContext(ctx, t.st.finishDone).ExecContext(ctx, out, ms(p.Now), rt, p.ID, p.Token)
	} else {
		switch p.State {
		case task.Failed, task.Dead, task.Ready:
		default:
			return false, fmt.Errorf("finish microtask %d: cannot finish in state %v", p.ID, p.State)
		}
		refund := 0
		if p.Refund {
			refund = 1
		}
		var errText any
		if p.Error != "" {
			errText = p.Error
		}
		res, err = t.tx.StmtContext(ctx, t.st.finishOther).ExecContext(ctx, int(p.State), errText, ms(p.NotBefore), ms(p.Now), rt, refund, p.ID, p.Token)
	}
	if err != nil {
		return false, fmt.Errorf("finish microtask %d: %w", p.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("finish microtask %d: %w", p.ID, err)
	}
	return n == 1, nil
}

func (t *txn) TaskWake(ctx context.Context, now time.Time) ([]store.StageCount, time.Time, error) {
	rows, err := t.tx.QueryContext(ctx, `UPDATE microtasks SET state = 1
		WHERE state = 4 AND not_before <= ? RETURNING job_id, stage`, ms(now))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("wake microtasks: %w", err)
	}
	woke, err := countStages(rows)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("wake microtasks: %w", err)
	}
	var next sql.NullInt64
	if err := t.tx.QueryRowContext(ctx, `SELECT min(not_before) FROM microtasks WHERE state = 4`).Scan(&next); err != nil {
		return nil, time.Time{}, fmt.Errorf("next retry: %w", err)
	}
	if !next.Valid {
		return woke, time.Time{}, nil
	}
	return woke, fromMS(next.Int64), nil
}

func (t *txn) TaskRevive(ctx context.Context, jobID string) ([]store.StageCount, error) {
	rows, err := t.tx.QueryContext(ctx, `UPDATE microtasks SET state = 1, attempts = 0, error = NULL, fence = token + 1
		WHERE job_id = ? AND state = 5 RETURNING job_id, stage`, jobID)
	if err != nil {
		return nil, fmt.Errorf("revive microtasks: %w", err)
	}
	return countStages(rows)
}

func countStages(rows *sql.Rows) ([]store.StageCount, error) {
	defer rows.Close()
	type key struct {
		job   string
		stage int
	}
	idx := map[key]int{}
	var out []store.StageCount
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.job, &k.stage); err != nil {
			return nil, err
		}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, store.StageCount{JobID: k.job, Stage: k.stage})
		}
		out[i].N++
	}
	return out, rows.Err()
}

func (t *txn) TaskCancel(ctx context.Context, jobID string, now time.Time) ([]store.StateCount, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT stage, state, count(*) FROM microtasks
		WHERE job_id = ? AND state IN (0, 1, 2, 4) GROUP BY stage, state`, jobID)
	if err != nil {
		return nil, fmt.Errorf("cancel job: %w", err)
	}
	var out []store.StateCount
	for rows.Next() {
		var c store.StateCount
		if err := rows.Scan(&c.Stage, &c.State, &c.N); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cancel job: %w", err)
		}
		out = append(out, c)
	}
	rows.Close()
	if _, err := t.tx.ExecContext(ctx, `UPDATE microtasks SET state = 6, finished_at = ?, fence = token + 1
		WHERE job_id = ? AND state IN (0, 1, 2, 4)`, ms(now), jobID); err != nil {
		return nil, fmt.Errorf("cancel job: %w", err)
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM pending_items WHERE job_id = ?`, jobID); err != nil {
		return nil, fmt.Errorf("cancel job: %w", err)
	}
	return out, nil
}

func (t *txn) TaskOutputs(ctx context.Context, jobID string, stages []int) ([]task.Item, error) {
	var items []task.Item
	for _, s := range stages {
		rows, err := t.tx.QueryContext(ctx, `SELECT result FROM microtasks WHERE job_id = ? AND stage = ? AND state = 3 ORDER BY id`, jobID, s)
		if err != nil {
			return nil, fmt.Errorf("read outputs: %w", err)
		}
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read outputs: %w", err)
			}
			var part []task.Item
			if err := json.Unmarshal(b, &part); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read outputs: %w", err)
			}
			items = append(items, part...)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read outputs: %w", err)
		}
	}
	return items, nil
}

func (t *txn) PendingAdd(ctx context.Context, jobID string, stage int, items []task.Item) error {
	st := t.tx.StmtContext(ctx, t.st.pendingAdd)
	for _, it := range items {
		if _, err := st.ExecContext(ctx, jobID, stage, it.ID, []byte(it.Data)); err != nil {
			return fmt.Errorf("buffer items: %w", err)
		}
	}
	return nil
}

func (t *txn) PendingTake(ctx context.Context, jobID string, stage, n int) ([]task.Item, error) {
	rows, err := t.tx.QueryContext(ctx, `DELETE FROM pending_items WHERE seq IN
		(SELECT seq FROM pending_items WHERE job_id = ? AND stage = ? ORDER BY seq LIMIT ?)
		RETURNING seq, item_id, data`, jobID, stage, n)
	if err != nil {
		return nil, fmt.Errorf("take buffered items: %w", err)
	}
	defer rows.Close()
	type row struct {
		seq  int64
		item task.Item
	}
	var got []row
	for rows.Next() {
		var r row
		var data []byte
		if err := rows.Scan(&r.seq, &r.item.ID, &data); err != nil {
			return nil, fmt.Errorf("take buffered items: %w", err)
		}
		r.item.Data = data
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("take buffered items: %w", err)
	}
	// RETURNING gives no order guarantee; keep arrival order.
	slices.SortFunc(got, func(a, b row) int { return cmp.Compare(a.seq, b.seq) })
	items := make([]task.Item, len(got))
	for i, r := range got {
		items[i] = r.item
	}
	return items, nil
}

func (t *txn) WorkerUpsert(ctx context.Context, w *task.Worker) error {
	info, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("save worker: %w", err)
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO workers (id, info, last_seen) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET info = excluded.info, last_seen = excluded.last_seen`, w.ID, info, ms(w.LastSeen))
	if err != nil {
		return fmt.Errorf("save worker: %w", err)
	}
	return nil
}
