package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// claimSkipSQL is the claim statement passing over the ids of a JSON array.
const claimSkipSQL = `UPDATE microtasks
	SET state = 2, token = token + 1, fence = token + 1, attempts = attempts + 1, worker = ?, started_at = ?,
	    spec_worker = NULL, spec_token = NULL
	WHERE id IN (SELECT id FROM microtasks WHERE job_id = ? AND stage = ? AND state = 1
		AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?)
	RETURNING id, token, attempts, input, created_at`

// stmts are the writer's hot statements, prepared once.
type stmts struct {
	claim, claimOne, finishDone, finishOther, pendingAdd *sql.Stmt
	all                                                  []*sql.Stmt
	// Multi-row statements by row count (batch.go).
	insertTasks, finishDoneBatch *sized
}

func prepare(ctx context.Context, db *sql.DB) (*stmts, error) {
	s := &stmts{}
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&s.claim, `UPDATE microtasks
			SET state = 2, token = token + 1, fence = token + 1, attempts = attempts + 1, worker = ?, started_at = ?,
			    spec_worker = NULL, spec_token = NULL
			WHERE id IN (SELECT id FROM microtasks WHERE job_id = ? AND stage = ? AND state = 1 ORDER BY id LIMIT ?)
			RETURNING id, token, attempts, input, created_at`},
		{&s.claimOne, `UPDATE microtasks
			SET state = 2, token = token + 1, fence = token + 1, attempts = attempts + 1, worker = ?, started_at = ?,
			    spec_worker = NULL, spec_token = NULL
			WHERE id = ? AND job_id = ? AND stage = ? AND state = 1
			RETURNING id, token, attempts, input, created_at`},
		{&s.finishDone, `UPDATE microtasks
			SET state = 3, result = ?, finished_at = ?, runtime_ms = ?, error = NULL
			WHERE id = ? AND state = 2 AND ? IN (fence, spec_token)`},
		{&s.finishOther, `UPDATE microtasks
			SET state = ?, error = ?, not_before = ?, finished_at = ?, runtime_ms = ?, fence = token + 1, spec_worker = NULL, spec_token = NULL,
			    attempts = attempts - ?
			WHERE id = ? AND state = 2 AND ? IN (fence, spec_token)`},
		{&s.pendingAdd, `INSERT INTO pending_items (job_id, stage, item_id, data) VALUES (?, ?, ?, ?)`},
	} {
		st, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("prepare: %w", err)
		}
		*p.dst = st
		s.all = append(s.all, st)
	}
	var err error
	if s.insertTasks, err = prepareSized(ctx, db, insertChunk, insertTasksSQL); err != nil {
		s.close()
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if s.finishDoneBatch, err = prepareSized(ctx, db, finishChunk, finishDoneSQL); err != nil {
		s.close()
		return nil, fmt.Errorf("prepare: %w", err)
	}
	return s, nil
}

func (s *stmts) close() {
	for _, st := range s.all {
		st.Close()
	}
	s.insertTasks.close()
	s.finishDoneBatch.close()
}
