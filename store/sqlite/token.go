package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/myriadhq/myriad/store"
)

var _ store.TokenStore = (*Store)(nil)

// TokenInsert implements store.TokenStore.
func (s *Store) TokenInsert(ctx context.Context, t *store.Token) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO api_tokens (id, name, role, hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		t.ID, t.Name, t.Role, t.Hash, ms(t.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("insert token %s: %w", t.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("insert token %s: %w", t.ID, err)
	}
	return nil
}

const tokenColumns = `id, name, role, hash, created_at, revoked_at`

func scanToken(sc interface{ Scan(...any) error }) (*store.Token, error) {
	t := &store.Token{}
	var created int64
	var revoked sql.NullInt64
	if err := sc.Scan(&t.ID, &t.Name, &t.Role, &t.Hash, &created, &revoked); err != nil {
		return nil, err
	}
	t.CreatedAt = fromMS(created)
	if revoked.Valid {
		at := fromMS(revoked.Int64)
		t.RevokedAt = &at
	}
	return t, nil
}

// TokenByHash implements store.TokenStore.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (*store.Token, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("token: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	return t, nil
}

// TokenList implements store.TokenStore.
func (s *Store) TokenList(ctx context.Context) ([]*store.Token, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []*store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// TokenRevoke implements store.TokenStore.
func (s *Store) TokenRevoke(ctx context.Context, id string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ms(at), id)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("revoke token %s: no such active token: %w", id, store.ErrNotFound)
	}
	return nil
}
