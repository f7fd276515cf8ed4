package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"strings"
)

// Multi-row statements carry up to this many rows. A batch is cut into
// chunks of that size and the rest into power-of-two sizes (insert) or
// padded up to the next one (finish, whose padding rows match nothing),
// so a few statements prepared at Open serve every batch size. Powers of
// two; variables only so that a benchmark can compare sizes.
var (
	insertChunk = 256
	finishChunk = 256
)

// sized holds one prepared statement per power-of-two row count up to a
// maximum: bySize[k] carries 1<<k rows.
type sized struct {
	bySize []*sql.Stmt
}

// max is the largest row count one statement carries.
func (z *sized) max() int { return 1 << (len(z.bySize) - 1) }

// prepareSized prepares build(rows) for rows = 1, 2, 4, … up to max (a
// power of two).
func prepareSized(ctx context.Context, db *sql.DB, max int, build func(rows int) string) (*sized, error) {
	z := &sized{}
	for rows := 1; rows <= max; rows *= 2 {
		st, err := db.PrepareContext(ctx, build(rows))
		if err != nil {
			z.close()
			return nil, fmt.Errorf("prepare %d-row statement: %w", rows, err)
		}
		z.bySize = append(z.bySize, st)
	}
	return z, nil
}

// floor returns the largest prepared row count not above n (n ≥ 1).
func (z *sized) floor(n int) (int, *sql.Stmt) {
	k := min(bits.Len(uint(n))-1, len(z.bySize)-1)
	return 1 << k, z.bySize[k]
}

// ceil returns the smallest prepared row count not below n (1 ≤ n ≤ max).
func (z *sized) ceil(n int) (int, *sql.Stmt) {
	k := bits.Len(uint(n - 1))
	return 1 << k, z.bySize[k]
}

func (z *sized) close() {
	if z == nil {
		return
	}
	for _, st := range z.bySize {
		st.Close()
	}
}

// insertTasksSQL inserts rows microtasks of one stage with consecutive
// ids: its parameters are the job, the stage, created_at and the first id,
// then n_items and input of each row. All are plain "?": numbered ones
// (?NNN) make the driver's bind look each number up in a list as long as
// the statement's parameters, which at 256 rows cost more than the insert.
func insertTasksSQL(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO microtasks (id, job_id, stage, state, n_items, input, created_at)
	SELECT s.column4 + v.column1, s.column1, s.column2, 1, v.column2, v.column3, s.column3
	FROM (VALUES (?,?,?,?)) AS s, (VALUES `)
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(%d,?,?)", i)
	}
	b.WriteString(`) AS v`)
	return b.String()
}

// finishDoneSQL commits the results of rows running microtasks, each
// row's parameters being id, token, result, finished_at, runtime_ms; a
// row with a NULL id matches nothing. It returns the ids it committed.
func finishDoneSQL(rows int) string {
	var b strings.Builder
	b.WriteString(`UPDATE microtasks SET state = 3, result = u.column3, finished_at = u.column4, runtime_ms = u.column5, error = NULL
	FROM (VALUES `)
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?)")
	}
	b.WriteString(`) AS u
	WHERE microtasks.id = u.column1 AND microtasks.state = 2 AND u.column2 IN (microtasks.fence, microtasks.spec_token)
	RETURNING microtasks.id`)
	return b.String()
}
