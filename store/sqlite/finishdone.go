package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

var _ store.TxFinisher = (*txn)(nil)

// finishViaJSON picks the json_each form of TaskFinishDone (benchmarks).
var finishViaJSON = false

// TaskFinishDone implements store.TxFinisher: TaskFinish with State Done
// for each element, up to finishChunk of them per UPDATE statement.
func (t *txn) TaskFinishDone(ctx context.Context, ps []*store.TaskFinishParams) ([]bool, error) {
	results := make([][]byte, len(ps))
	for i, p := range ps {
		if p.State != task.Done {
			return nil, fmt.Errorf("finish microtask %d: TaskFinishDone with state %v", p.ID, p.State)
		}
		results[i] = []byte("[]")
		if p.Output != nil {
			b, err := json.Marshal(p.Output)
			if err != nil {
				return nil, fmt.Errorf("finish microtask %d: %w", p.ID, err)
			}
			results[i] = b
		}
	}
	done := make(map[int64]bool, len(ps))
	if finishViaJSON {
		if err := t.finishDoneJSON(ctx, ps, results, done); err != nil {
			return nil, err
		}
	} else {
		z := t.st.finishDoneRows
		args := make([]any, 0, 5*min(len(ps), z.max()))
		for start := 0; start < len(ps); start += z.max() {
			part := ps[start:min(start+z.max(), len(ps))]
			rows, st := z.ceil(len(part))
			args = args[:0]
			for i, p := range part {
				args = append(args, p.ID, p.Token, results[start+i], ms(p.Now), p.Runtime.Milliseconds())
			}
			for range rows - len(part) {
				args = append(args, nil, nil, nil, nil, nil)
			}
			if err := scanIDs(t.tx.StmtContext(ctx, st).QueryContext(ctx, args...))(done); err != nil {
				return nil, err
			}
		}
	}
	out := make([]bool, len(ps))
	for i, p := range ps {
		out[i] = done[p.ID]
	}
	return out, nil
}

func (t *txn) finishDoneJSON(ctx context.Context, ps []*store.TaskFinishParams, results [][]byte, done map[int64]bool) error {
	b := make([]byte, 0, 64*len(ps))
	b = append(b, '[')
	for i, p := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, p.ID, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, p.Token, 10)
		b = append(b, ',')
		r, err := json.Marshal(string(results[i]))
		if err != nil {
			return fmt.Errorf("finish microtask %d: %w", p.ID, err)
		}
		b = append(b, r...)
		b = append(b, ',')
		b = strconv.AppendInt(b, ms(p.Now), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, p.Runtime.Milliseconds(), 10)
		b = append(b, ']')
	}
	b = append(b, ']')
	return scanIDs(t.tx.StmtContext(ctx, t.st.finishDoneJSON).QueryContext(ctx, string(b)))(done)
}

// scanIDs returns a function that records the ids of rows in done.
func scanIDs(rows *sql.Rows, err error) func(done map[int64]bool) error {
	return func(done map[int64]bool) error {
		if err != nil {
			return fmt.Errorf("finish microtasks: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("finish microtasks: %w", err)
			}
			done[id] = true
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("finish microtasks: %w", err)
		}
		return nil
	}
}
