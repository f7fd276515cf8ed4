package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/myriadhq/myriad/store"
)

// TaskInsert implements store.Tx. The new microtasks get consecutive ids
// after the largest one, which is the id SQLite would pick for each of
// them in turn; naming them explicitly lets one statement insert many
// rows and still say which id is whose. The write lock, taken when the
// transaction began, keeps the largest id from moving meanwhile.
func (t *txn) TaskInsert(ctx context.Context, p *store.TaskInsertParams) error {
	p.IDs = make([]int64, 0, len(p.Inputs))
	if len(p.Inputs) == 0 {
		return nil
	}
	var last int64
	if err := t.tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM microtasks`).Scan(&last); err != nil {
		return fmt.Errorf("insert microtasks of job %s: last id: %w", p.JobID, err)
	}
	if last > math.MaxInt64-int64(len(p.Inputs)) {
		return fmt.Errorf("insert %d microtasks of job %s: ids after %d would overflow", len(p.Inputs), p.JobID, last)
	}
	z := t.st.insertTasks
	now := ms(p.Now)
	args := make([]any, 0, 4+2*min(len(p.Inputs), z.max()))
	for start := 0; start < len(p.Inputs); {
		rows, st := z.floor(len(p.Inputs) - start)
		first := last + 1
		args = append(args[:0], p.JobID, p.Stage, now, first)
		for i, items := range p.Inputs[start : start+rows] {
			var input []byte
			if items != nil {
				var err error
				if input, err = json.Marshal(items); err != nil {
					return fmt.Errorf("insert microtask %d of job %s: %w", start+i, p.JobID, err)
				}
			}
			args = append(args, len(items), input)
		}
		if _, err := t.tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("insert microtasks %d to %d of job %s: %w", start, start+rows-1, p.JobID, err)
		}
		for i := range int64(rows) {
			p.IDs = append(p.IDs, first+i)
		}
		last += int64(rows)
		start += rows
	}
	return nil
}
