package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

type txn struct {
	tx pgx.Tx
}

var _ store.Tx = (*txn)(nil)

// insertChunk bounds the rows one INSERT ... unnest carries, so a job of
// a million items is a few hundred statements, not a million.
const insertChunk = 5000

func (t *txn) JobInsert(ctx context.Context, j *task.Job, waiting []int) error {
	stages, err := json.Marshal(j.Stages)
	if err != nil {
		return fmt.Errorf("insert job: %w", err)
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO jobs (id, name, state, priority, weight, owner, items, stages, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, j.ID, j.Name, string(j.State), j.Priority, j.Weight, j.Owner, j.Items, stages, ms(j.CreatedAt))
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("insert job %s: %w", j.ID, store.ErrConflict)
		}
		return fmt.Errorf("insert job: %w", err)
	}
	idx := make([]int32, len(j.Stages))
	states := make([]string, len(j.Stages))
	for i := range j.Stages {
		idx[i] = int32(i)
		states[i] = string(task.StageRunning)
		if slices.Contains(waiting, i) {
			states[i] = string(task.StageWaiting)
		}
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO stages (job_id, idx, state) SELECT $1, i, s FROM unnest($2::int[], $3::text[]) AS u(i, s)`,
		j.ID, idx, states); err != nil {
		return fmt.Errorf("insert stages: %w", err)
	}
	return nil
}

func (t *txn) JobSetState(ctx context.Context, id string, state task.JobState, at time.Time) error {
	var fin *int64
	if state.Final() {
		v := ms(at)
		fin = &v
	}
	tag, err := t.tx.Exec(ctx, `UPDATE jobs SET state = $1, finished_at = $2 WHERE id = $3`, string(state), fin, id)
	if err != nil {
		return fmt.Errorf("set job state: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("set job state %s: %w", id, store.ErrNotFound)
	}
	return nil
}

func (t *txn) JobFinish(ctx context.Context, id string, state task.JobState, at time.Time) (bool, error) {
	if !state.Final() {
		return false, fmt.Errorf("finish job %s: %q is not a final state", id, state)
	}
	tag, err := t.tx.Exec(ctx, `UPDATE jobs SET state = $1, finished_at = $2 WHERE id = $3 AND state = $4`,
		string(state), ms(at), id, string(task.JobRunning))
	if err != nil {
		return false, fmt.Errorf("finish job: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

func (t *txn) StageSetState(ctx context.Context, jobID string, stage int, state task.StageState) error {
	if _, err := t.tx.Exec(ctx, `UPDATE stages SET state = $1 WHERE job_id = $2 AND idx = $3`, string(state), jobID, stage); err != nil {
		return fmt.Errorf("set stage state: %w", err)
	}
	return nil
}

func (t *txn) TaskInsert(ctx context.Context, p *store.TaskInsertParams) error {
	p.IDs = make([]int64, 0, len(p.Inputs))
	for start := 0; start < len(p.Inputs); start += insertChunk {
		part := p.Inputs[start:min(start+insertChunk, len(p.Inputs))]
		n := make([]int32, len(part))
		in := make([][]byte, len(part))
		for i, items := range part {
			n[i] = int32(len(items))
			if items != nil {
				b, err := json.Marshal(items)
				if err != nil {
					return fmt.Errorf("insert microtask: %w", err)
				}
				in[i] = b
			}
		}
		// WITH ORDINALITY keeps the ids in input order: the serial is
		// drawn row by row in the ORDER BY's order.
		rows, err := t.tx.Query(ctx, `INSERT INTO microtasks (job_id, stage, state, n_items, input, created_at)
			SELECT $1, $2, 1, n, inp, $3 FROM unnest($4::int[], $5::bytea[]) WITH ORDINALITY AS u(n, inp, ord) ORDER BY ord
			RETURNING id`,
			p.JobID, p.Stage, ms(p.Now), n, in)
		if err != nil {
			return fmt.Errorf("insert microtasks: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("insert microtasks: %w", err)
		}
		slices.Sort(ids)
		p.IDs = append(p.IDs, ids...)
	}
	return nil
}

func (t *txn) TaskClaim(ctx context.Context, p *store.TaskClaimParams) ([]*store.Claimed, error) {
	var out []*store.Claimed
	if len(p.Prefer) > 0 && len(p.Skip) > 0 {
		prefer := make([]int64, 0, len(p.Prefer))
		for _, id := range p.Prefer {
			if !slices.Contains(p.Skip, id) {
				prefer = append(prefer, id)
			}
		}
		q := *p
		q.Prefer, p = prefer, &q
	}
	skip := p.Skip
	if skip == nil {
		skip = []int64{}
	}
	if len(p.Prefer) > 0 {
		got, err := t.claim(ctx, `UPDATE microtasks m
			SET state = 2, token = m.token + 1, fence = m.token + 1, attempts = m.attempts + 1, worker = $1, started_at = $2,
			spec_worker = NULL, spec_token = NULL
			FROM (SELECT id FROM microtasks WHERE id = ANY($6::bigint[]) AND job_id = $3 AND stage = $4 AND state = 1
				LIMIT $5 FOR UPDATE SKIP LOCKED) r
			WHERE m.id = r.id
			RETURNING m.id, m.token, m.attempts, m.input`, p.Worker, ms(p.Now), p.JobID, p.Stage, p.Limit, p.Prefer)
		if err != nil {
			return nil, err
		}
		// The preferred come back in the caller's order of preference.
		rank := make(map[int64]int, len(p.Prefer))
		for i, id := range p.Prefer {
			if _, ok := rank[id]; !ok {
				rank[id] = i
			}
		}
		slices.SortFunc(got, func(a, b *store.Claimed) int { return cmp.Compare(rank[a.ID], rank[b.ID]) })
		out = got
		if len(out) >= p.Limit {
			return out, nil
		}
	}
	// SKIP LOCKED: rows another coordinator is claiming right now are
	// passed over instead of waited for; the UPDATE's fencing-token bump
	// happens under the row locks the subquery took.
	rest, err := t.claim(ctx, `UPDATE microtasks m
		SET state = 2, token = m.token + 1, fence = m.token + 1, attempts = m.attempts + 1, worker = $1, started_at = $2,
			spec_worker = NULL, spec_token = NULL
		FROM (SELECT id FROM microtasks WHERE job_id = $3 AND stage = $4 AND state = 1 AND NOT (id = ANY($6::bigint[]))
			ORDER BY id LIMIT $5 FOR UPDATE SKIP LOCKED) r
		WHERE m.id = r.id
		RETURNING m.id, m.token, m.attempts, m.input`, p.Worker, ms(p.Now), p.JobID, p.Stage, p.Limit-len(out), skip)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(rest, func(a, b *store.Claimed) int { return cmp.Compare(a.ID, b.ID) })
	return append(out, rest...), nil
}

// claim runs one claiming UPDATE … RETURNING and decodes its rows.
func (t *txn) claim(ctx context.Context, query string, args ...any) ([]*store.Claimed, error) {
	rows, err := t.tx.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("claim microtasks: %w", err)
	}
	defer rows.Close()
	var out []*store.Claimed
	for rows.Next() {
		c := &store.Claimed{}
		var input []byte
		if err := rows.Scan(&c.ID, &c.Token, &c.Attempt, &input); err != nil {
			return nil, fmt.Errorf("claim microtasks: %w", err)
		}
		if input != nil {
			if err := json.Unmarshal(input, &c.Items); err != nil {
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
	rt := p.Runtime.Milliseconds()
	var n int64
	if p.State == task.Done {
		out := []byte("[]")
		if p.Output != nil {
			var err error
			if out, err = json.Marshal(p.Output); err != nil {
				return false, fmt.Errorf("finish microtask %d: %w", p.ID, err)
			}
		}
		tag, err := t.tx.Exec(ctx, `UPDATE microtasks SET state = 3, result = $1, finished_at = $2, runtime_ms = $3, error = NULL
			WHERE id = $4 AND state = 2 AND $5 IN (fence, spec_token)`, out, ms(p.Now), rt, p.ID, p.Token)
		if err != nil {
			return false, fmt.Errorf("finish microtask %d: %w", p.ID, err)
		}
		n = tag.RowsAffected()
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
		var errText *string
		if p.Error != "" {
			errText = &p.Error
		}
		tag, err := t.tx.Exec(ctx, `UPDATE microtasks SET state = $1, error = $2, not_before = $3, finished_at = $4, runtime_ms = $5,
			fence = token + 1, spec_worker = NULL, spec_token = NULL, attempts = attempts - $6
			WHERE id = $7 AND state = 2 AND $8 IN (fence, spec_token)`,
			int16(p.State), errText, ms(p.NotBefore), ms(p.Now), rt, refund, p.ID, p.Token)
		if err != nil {
			return false, fmt.Errorf("finish microtask %d: %w", p.ID, err)
		}
		n = tag.RowsAffected()
	}
	return n == 1, nil
}

func (t *txn) TaskWake(ctx context.Context, now time.Time) ([]store.StageCount, time.Time, error) {
	woke, err := stageCounts(ctx, t.tx, `WITH w AS (UPDATE microtasks SET state = 1 WHERE state = 4 AND not_before <= $1 RETURNING job_id, stage)
		SELECT job_id, stage, count(*) FROM w GROUP BY job_id, stage ORDER BY job_id, stage`, ms(now))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("wake microtasks: %w", err)
	}
	var next *int64
	if err := t.tx.QueryRow(ctx, `SELECT min(not_before) FROM microtasks WHERE state = 4`).Scan(&next); err != nil {
		return nil, time.Time{}, fmt.Errorf("next retry: %w", err)
	}
	if next == nil {
		return woke, time.Time{}, nil
	}
	return woke, fromMS(*next), nil
}

func (t *txn) TaskRevive(ctx context.Context, jobID string) ([]store.StageCount, error) {
	out, err := stageCounts(ctx, t.tx, `WITH r AS (UPDATE microtasks SET state = 1, attempts = 0, error = NULL, fence = token + 1
		WHERE job_id = $1 AND state = 5 RETURNING job_id, stage)
		SELECT job_id, stage, count(*) FROM r GROUP BY job_id, stage ORDER BY stage`, jobID)
	if err != nil {
		return nil, fmt.Errorf("revive microtasks: %w", err)
	}
	return out, nil
}

func stageCounts(ctx context.Context, tx pgx.Tx, q string, args ...any) ([]store.StageCount, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.StageCount
	for rows.Next() {
		var c store.StageCount
		if err := rows.Scan(&c.JobID, &c.Stage, &c.N); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (t *txn) TaskCancel(ctx context.Context, jobID string, now time.Time) ([]store.StateCount, error) {
	// The rows are locked first so the states counted are those the
	// update changes, whatever other coordinators did just before.
	rows, err := t.tx.Query(ctx, `WITH l AS (SELECT id, stage, state FROM microtasks WHERE job_id = $2 AND state IN (0, 1, 2, 4) FOR UPDATE),
		c AS (UPDATE microtasks m SET state = 6, finished_at = $1, fence = m.token + 1 FROM l WHERE m.id = l.id RETURNING l.stage, l.state AS was)
		SELECT stage, was, count(*) FROM c GROUP BY stage, was ORDER BY stage, was`, ms(now), jobID)
	if err != nil {
		return nil, fmt.Errorf("cancel job: %w", err)
	}
	var out []store.StateCount
	for rows.Next() {
		var c store.StateCount
		var st int16
		if err := rows.Scan(&c.Stage, &st, &c.N); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cancel job: %w", err)
		}
		c.State = task.State(st)
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cancel job: %w", err)
	}
	if _, err := t.tx.Exec(ctx, `DELETE FROM pending_items WHERE job_id = $1`, jobID); err != nil {
		return nil, fmt.Errorf("cancel job: %w", err)
	}
	return out, nil
}

func (t *txn) TaskOutputs(ctx context.Context, jobID string, stages []int) ([]task.Item, error) {
	var items []task.Item
	for _, s := range stages {
		rows, err := t.tx.Query(ctx, `SELECT result FROM microtasks WHERE job_id = $1 AND stage = $2 AND state = 3 ORDER BY id`, jobID, s)
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
	for start := 0; start < len(items); start += insertChunk {
		part := items[start:min(start+insertChunk, len(items))]
		ids := make([]string, len(part))
		data := make([][]byte, len(part))
		for i, it := range part {
			ids[i] = it.ID
			data[i] = []byte(it.Data)
			if data[i] == nil {
				data[i] = []byte("null")
			}
		}
		if _, err := t.tx.Exec(ctx, `INSERT INTO pending_items (job_id, stage, item_id, data)
			SELECT $1, $2, i, d FROM unnest($3::text[], $4::bytea[]) WITH ORDINALITY AS u(i, d, ord) ORDER BY ord`,
			jobID, stage, ids, data); err != nil {
			return fmt.Errorf("buffer items: %w", err)
		}
	}
	return nil
}

func (t *txn) PendingTake(ctx context.Context, jobID string, stage, n int) ([]task.Item, error) {
	// SKIP LOCKED: items another coordinator is taking are left to it.
	rows, err := t.tx.Query(ctx, `DELETE FROM pending_items WHERE seq IN
		(SELECT seq FROM pending_items WHERE job_id = $1 AND stage = $2 ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED)
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
	if _, err := t.tx.Exec(ctx, `INSERT INTO workers (id, info, last_seen) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET info = excluded.info, last_seen = excluded.last_seen`, w.ID, info, ms(w.LastSeen)); err != nil {
		return fmt.Errorf("save worker: %w", err)
	}
	return nil
}

func (t *txn) TaskLeases(ctx context.Context, ids []int64) ([]*store.RunningTask, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT id, job_id, stage, fence, attempts, coalesce(worker, ''), coalesce(started_at, 0), coalesce(spec_worker, ''), coalesce(spec_token, 0)
		FROM microtasks WHERE id = ANY($1) AND state = 2 ORDER BY id`, ids)
	if err != nil {
		return nil, fmt.Errorf("read leases: %w", err)
	}
	return scanRunning(rows)
}

func scanRunning(rows pgx.Rows) ([]*store.RunningTask, error) {
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read leases: %w", err)
	}
	return out, nil
}

func (t *txn) StageLock(ctx context.Context, jobID string, stage int) (task.StageState, task.Counts, error) {
	var c task.Counts
	var state string
	err := t.tx.QueryRow(ctx, `SELECT state FROM stages WHERE job_id = $1 AND idx = $2 FOR UPDATE`, jobID, stage).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", c, fmt.Errorf("lock stage %d of job %s: %w", stage, jobID, store.ErrNotFound)
	}
	if err != nil {
		return "", c, fmt.Errorf("lock stage: %w", err)
	}
	// Under READ COMMITTED these reads see every commit made before them,
	// including those of coordinators that held the lock before us.
	rows, err := t.tx.Query(ctx, `SELECT state, count(*) FROM microtasks WHERE job_id = $1 AND stage = $2 GROUP BY state
		UNION ALL SELECT -1, count(*) FROM pending_items WHERE job_id = $1 AND stage = $2`, jobID, stage)
	if err != nil {
		return "", c, fmt.Errorf("lock stage: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st int16
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return "", c, fmt.Errorf("lock stage: %w", err)
		}
		if st < 0 {
			c.Pending = n
		} else {
			c.Add(task.State(st), n)
		}
	}
	if err := rows.Err(); err != nil {
		return "", c, fmt.Errorf("lock stage: %w", err)
	}
	return task.StageState(state), c, nil
}

var _ store.TxFinisher = (*txn)(nil)

// TaskFinishDone implements store.TxFinisher: one UPDATE for all, rows
// taken in id order.
func (t *txn) TaskFinishDone(ctx context.Context, ps []*store.TaskFinishParams) ([]bool, error) {
	ids := make([]int64, len(ps))
	tokens := make([]int64, len(ps))
	results := make([][]byte, len(ps))
	at := make([]int64, len(ps))
	rts := make([]int64, len(ps))
	for i, p := range ps {
		if p.State != task.Done {
			return nil, fmt.Errorf("finish microtask %d: TaskFinishDone with state %v", p.ID, p.State)
		}
		ids[i], tokens[i], at[i], rts[i] = p.ID, p.Token, ms(p.Now), p.Runtime.Milliseconds()
		results[i] = []byte("[]")
		if p.Output != nil {
			b, err := json.Marshal(p.Output)
			if err != nil {
				return nil, fmt.Errorf("finish microtask %d: %w", p.ID, err)
			}
			results[i] = b
		}
	}
	rows, err := t.tx.Query(ctx, `UPDATE microtasks m SET state = 3, result = u.res, finished_at = u.at, runtime_ms = u.rt, error = NULL
		FROM (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bigint[], $5::bigint[]) AS x(id, tok, res, at, rt) ORDER BY id) u
		WHERE m.id = u.id AND m.state = 2 AND u.tok IN (m.fence, m.spec_token)
		RETURNING m.id`, ids, tokens, results, at, rts)
	if err != nil {
		return nil, fmt.Errorf("finish microtasks: %w", err)
	}
	defer rows.Close()
	done := make(map[int64]bool, len(ps))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("finish microtasks: %w", err)
		}
		done[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("finish microtasks: %w", err)
	}
	out := make([]bool, len(ps))
	for i, p := range ps {
		out[i] = done[p.ID]
	}
	return out, nil
}

func (t *txn) TaskSpeculate(ctx context.Context, p *store.TaskSpeculateParams) (*store.Claimed, error) {
	got, err := t.claim(ctx, `UPDATE microtasks SET token = token + 1, spec_token = token + 1, spec_worker = $1
		WHERE id = $2 AND state = 2 AND spec_token IS NULL AND coalesce(worker, '') <> $1
		RETURNING id, token, attempts, input`, p.Worker, p.ID)
	if err != nil || len(got) == 0 {
		return nil, err
	}
	return got[0], nil
}

func (t *txn) TaskDropAttempt(ctx context.Context, id, token int64) (bool, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE microtasks SET spec_token = NULL, spec_worker = NULL
		WHERE id = $1 AND state = 2 AND spec_token = $2`, id, token)
	if err != nil {
		return false, fmt.Errorf("drop attempt of microtask %d: %w", id, err)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	tag, err = t.tx.Exec(ctx, `UPDATE microtasks SET fence = spec_token, worker = spec_worker, spec_token = NULL, spec_worker = NULL
		WHERE id = $1 AND state = 2 AND spec_token IS NOT NULL AND fence = $2`, id, token)
	if err != nil {
		return false, fmt.Errorf("drop attempt of microtask %d: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}
