package sqlite

// The human computation part of the store (store.HumanStore), kept apart
// from the engine's tables.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/myriadhq/myriad/store"
)

var _ store.HumanStore = (*Store)(nil)
var _ store.HumanTx = (*txn)(nil)

// HumanInTx implements store.HumanStore. It shares the one writer
// connection with InTx, so the two kinds of transaction take turns.
func (s *Store) HumanInTx(ctx context.Context, fn func(store.HumanTx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(&txn{tx: tx, st: s.stmts}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint")
}

// AnnotatorList implements store.HumanStore.
func (s *Store) AnnotatorList(ctx context.Context) ([]*store.Annotator, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, token_hash, labels, paused, reason, created_at FROM annotators ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list annotators: %w", err)
	}
	defer rows.Close()
	var out []*store.Annotator
	for rows.Next() {
		a := &store.Annotator{}
		var labels []byte
		var created int64
		if err := rows.Scan(&a.ID, &a.Name, &a.TokenHash, &labels, &a.Paused, &a.Reason, &created); err != nil {
			return nil, fmt.Errorf("list annotators: %w", err)
		}
		if labels != nil {
			if err := json.Unmarshal(labels, &a.Labels); err != nil {
				return nil, fmt.Errorf("annotator %s: decode labels: %w", a.Name, err)
			}
		}
		a.CreatedAt = fromMS(created)
		out = append(out, a)
	}
	return out, rows.Err()
}

// HumanStageList implements store.HumanStore.
func (s *Store) HumanStageList(ctx context.Context, active bool) ([]*store.HumanStage, error) {
	q := `SELECT job_id, stage, task_id, token, state, info, output, created_at, finished_at FROM human_stages`
	if active {
		q += ` WHERE state IN (0, 1)`
	}
	q += ` ORDER BY created_at, job_id, stage`
	rows, err := s.r.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list human stages: %w", err)
	}
	defer rows.Close()
	var out []*store.HumanStage
	for rows.Next() {
		h := &store.HumanStage{}
		var created int64
		var finished sql.NullInt64
		var info, output []byte
		if err := rows.Scan(&h.JobID, &h.Stage, &h.TaskID, &h.Token, &h.State, &info, &output, &created, &finished); err != nil {
			return nil, fmt.Errorf("list human stages: %w", err)
		}
		h.Info, h.Output = info, output
		h.CreatedAt = fromMS(created)
		h.FinishedAt = fromMS(finished.Int64)
		out = append(out, h)
	}
	return out, rows.Err()
}

// HumanItemList implements store.HumanStore.
func (s *Store) HumanItemList(ctx context.Context, jobID string, stage int) ([]*store.HumanItem, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, seq, item_id, kind, data, coalesce(gold, ''), model_label, model_prob, state, answers, leased
		FROM human_items WHERE job_id = ? AND stage = ? ORDER BY id`, jobID, stage)
	if err != nil {
		return nil, fmt.Errorf("list human items: %w", err)
	}
	defer rows.Close()
	var out []*store.HumanItem
	for rows.Next() {
		it := &store.HumanItem{JobID: jobID, Stage: stage}
		var data []byte
		var ml sql.NullString
		var mp sql.NullFloat64
		if err := rows.Scan(&it.ID, &it.Seq, &it.ItemID, &it.Kind, &data, &it.Gold, &ml, &mp, &it.State, &it.Answers, &it.Leased); err != nil {
			return nil, fmt.Errorf("list human items: %w", err)
		}
		it.Data = data
		it.ModelLabel, it.ModelProb, it.HasModel = ml.String, mp.Float64, ml.Valid
		out = append(out, it)
	}
	return out, rows.Err()
}

// HumanAssignmentList implements store.HumanStore.
func (s *Store) HumanAssignmentList(ctx context.Context, jobID string, stage int) ([]*store.HumanAssignment, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT a.id, a.item, a.annotator, a.state, coalesce(a.label, ''), a.issued_at, a.expires_at,
			coalesce(a.answered_at, 0), coalesce(a.ms, 0)
		FROM human_assignments a JOIN human_items i ON a.item = i.id
		WHERE i.job_id = ? AND i.stage = ? ORDER BY a.id`, jobID, stage)
	if err != nil {
		return nil, fmt.Errorf("list assignments: %w", err)
	}
	defer rows.Close()
	var out []*store.HumanAssignment
	for rows.Next() {
		a := &store.HumanAssignment{}
		var issued, expires, answered int64
		if err := rows.Scan(&a.ID, &a.Item, &a.Annotator, &a.State, &a.Label, &issued, &expires, &answered, &a.MS); err != nil {
			return nil, fmt.Errorf("list assignments: %w", err)
		}
		a.IssuedAt, a.ExpiresAt, a.AnsweredAt = fromMS(issued), fromMS(expires), fromMS(answered)
		out = append(out, a)
	}
	return out, rows.Err()
}

func (t *txn) AnnotatorInsert(ctx context.Context, a *store.Annotator) error {
	labels, err := labelsJSON(a.Labels)
	if err != nil {
		return fmt.Errorf("insert annotator: %w", err)
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO annotators (id, name, token_hash, labels, paused, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Name, a.TokenHash, labels, a.Paused, a.Reason, ms(a.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("insert annotator %s: %w", a.Name, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("insert annotator: %w", err)
	}
	return nil
}

func labelsJSON(m map[string]string) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	return json.Marshal(m)
}

func (t *txn) AnnotatorUpdate(ctx context.Context, a *store.Annotator) error {
	labels, err := labelsJSON(a.Labels)
	if err != nil {
		return fmt.Errorf("update annotator: %w", err)
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE annotators SET labels = ?, paused = ?, reason = ? WHERE id = ?`, labels, a.Paused, a.Reason, a.ID)
	if err != nil {
		return fmt.Errorf("update annotator: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update annotator %s: %w", a.Name, store.ErrNotFound)
	}
	return nil
}

func (t *txn) HumanStageInsert(ctx context.Context, h *store.HumanStage) error {
	info := []byte(h.Info)
	if info == nil {
		info = []byte("{}")
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO human_stages (job_id, stage, task_id, token, state, info, output, created_at, finished_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, h.JobID, h.Stage, h.TaskID, h.Token, h.State, info, nullBytes(h.Output), ms(h.CreatedAt), nullTime(h))
	if isUnique(err) {
		return fmt.Errorf("insert human stage %s/%d: %w", h.JobID, h.Stage, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("insert human stage: %w", err)
	}
	return nil
}

func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return []byte(b)
}

func nullTime(h *store.HumanStage) any {
	if h.FinishedAt.IsZero() {
		return nil
	}
	return ms(h.FinishedAt)
}

func (t *txn) HumanStageUpdate(ctx context.Context, h *store.HumanStage) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE human_stages SET task_id = ?, token = ?, state = ?, output = ?, finished_at = ?
		WHERE job_id = ? AND stage = ?`, h.TaskID, h.Token, h.State, nullBytes(h.Output), nullTime(h), h.JobID, h.Stage)
	if err != nil {
		return fmt.Errorf("update human stage: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update human stage %s/%d: %w", h.JobID, h.Stage, store.ErrNotFound)
	}
	return nil
}

func (t *txn) HumanItemInsert(ctx context.Context, items []*store.HumanItem) error {
	st, err := t.tx.PrepareContext(ctx, `INSERT INTO human_items (job_id, stage, seq, item_id, kind, data, gold, model_label, model_prob, state, answers, leased)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("insert human items: %w", err)
	}
	defer st.Close()
	for _, it := range items {
		var gold, ml, mp any
		if it.Gold != "" {
			gold = it.Gold
		}
		if it.HasModel {
			ml, mp = it.ModelLabel, it.ModelProb
		}
		res, err := st.ExecContext(ctx, it.JobID, it.Stage, it.Seq, it.ItemID, it.Kind, []byte(it.Data), gold, ml, mp, it.State, it.Answers, it.Leased)
		if err != nil {
			return fmt.Errorf("insert human item %s: %w", it.ItemID, err)
		}
		if it.ID, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("insert human item %s: %w", it.ItemID, err)
		}
	}
	return nil
}

func (t *txn) HumanItemSetState(ctx context.Context, id int64, state store.HumanItemState) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE human_items SET state = ? WHERE id = ?`, state, id)
	if err != nil {
		return fmt.Errorf("set item state: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set item state %d: %w", id, store.ErrNotFound)
	}
	return nil
}

func (t *txn) HumanLease(ctx context.Context, p *store.HumanLeaseParams) (int64, error) {
	// Count the lease only if the item can take it; the check and the
	// count are one statement, so two writers cannot both pass it.
	res, err := t.tx.ExecContext(ctx, `UPDATE human_items SET leased = leased + 1 WHERE id = ? AND state = 0 AND leased < ?`, p.Item, p.MaxLeased)
	if err != nil {
		return 0, fmt.Errorf("lease item %d: %w", p.Item, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, fmt.Errorf("lease item %d: closed or fully leased: %w", p.Item, store.ErrConflict)
	}
	res, err = t.tx.ExecContext(ctx, `INSERT INTO human_assignments (item, annotator, state, issued_at, expires_at) VALUES (?, ?, 0, ?, ?)`,
		p.Item, p.Annotator, ms(p.IssuedAt), ms(p.ExpiresAt))
	if isUnique(err) {
		// Undo the count; the caller's transaction goes on.
		if _, uerr := t.tx.ExecContext(ctx, `UPDATE human_items SET leased = leased - 1 WHERE id = ?`, p.Item); uerr != nil {
			return 0, fmt.Errorf("lease item %d: %w", p.Item, uerr)
		}
		return 0, fmt.Errorf("lease item %d: already assigned to %s: %w", p.Item, p.Annotator, store.ErrConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("lease item %d: %w", p.Item, err)
	}
	return res.LastInsertId()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (t *txn) HumanAssignmentMove(ctx context.Context, p *store.HumanMoveParams) (bool, error) {
	var res sql.Result
	var err error
	switch p.To {
	case store.AssignAnswered:
		res, err = t.tx.ExecContext(ctx, `UPDATE human_assignments SET state = ?, label = ?, answered_at = ?, ms = ?
			WHERE id = ? AND annotator = ? AND state = ?`, p.To, p.Label, ms(p.At), p.MS, p.ID, p.Annotator, p.From)
	case store.AssignLeased:
		res, err = t.tx.ExecContext(ctx, `UPDATE human_assignments SET state = ?, label = NULL, answered_at = NULL, ms = NULL, expires_at = ?
			WHERE id = ? AND annotator = ? AND state = ?`, p.To, ms(p.ExpiresAt), p.ID, p.Annotator, p.From)
	default:
		res, err = t.tx.ExecContext(ctx, `UPDATE human_assignments SET state = ? WHERE id = ? AND annotator = ? AND state = ?`,
			p.To, p.ID, p.Annotator, p.From)
	}
	if err != nil {
		return false, fmt.Errorf("move assignment %d: %w", p.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	dLeased := b2i(p.To.Leases()) - b2i(p.From.Leases())
	dAnswers := b2i(p.To == store.AssignAnswered) - b2i(p.From == store.AssignAnswered)
	if dLeased == 0 && dAnswers == 0 {
		return true, nil
	}
	_, err = t.tx.ExecContext(ctx, `UPDATE human_items SET leased = leased + ?, answers = answers + ?
		WHERE id = (SELECT item FROM human_assignments WHERE id = ?)`, dLeased, dAnswers, p.ID)
	if err != nil {
		return false, fmt.Errorf("move assignment %d: %w", p.ID, err)
	}
	return true, nil
}
