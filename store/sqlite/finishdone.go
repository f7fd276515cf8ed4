package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

var _ store.TxFinisher = (*txn)(nil)

// TaskFinishDone implements store.TxFinisher: TaskFinish with State Done
// for each element, storing the same, in one UPDATE per finishChunk
// results (a multi-row VALUES list of bound parameters, which measured
// faster than passing the batch as JSON to json_each).
func (t *txn) TaskFinishDone(ctx context.Context, ps []*store.TaskFinishParams) ([]bool, error) {
	for _, p := range ps {
		if p.State != task.Done {
			return nil, fmt.Errorf("finish microtask %d: TaskFinishDone with state %v", p.ID, p.State)
		}
	}
	z := t.st.finishDoneBatch
	done := make(map[int64]bool, len(ps))
	args := make([]any, 0, 5*min(len(ps), z.max()))
	for start := 0; start < len(ps); start += z.max() {
		part := ps[start:min(start+z.max(), len(ps))]
		n, st := z.ceil(len(part))
		args = args[:0]
		for _, p := range part {
			result, err := resultJSON(p)
			if err != nil {
				return nil, err
			}
			args = append(args, p.ID, p.Token, result, ms(p.Now), p.Runtime.Milliseconds())
		}
		for range n - len(part) { // padding: a NULL id matches no row
			args = append(args, nil, nil, nil, nil, nil)
		}
		rows, err := t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
		if err == nil {
			err = addIDs(rows, done)
		}
		if err != nil {
			return nil, fmt.Errorf("finish microtasks %d to %d of %d: %w", start+1, start+len(part), len(ps), err)
		}
	}
	out := make([]bool, len(ps))
	for i, p := range ps {
		out[i] = done[p.ID]
	}
	return out, nil
}

// resultJSON is the result column of a microtask finished done: its
// output as a JSON array, [] for none.
func resultJSON(p *store.TaskFinishParams) ([]byte, error) {
	if p.Output == nil {
		return []byte("[]"), nil
	}
	out, err := json.Marshal(p.Output)
	if err != nil {
		return nil, fmt.Errorf("finish microtask %d: %w", p.ID, err)
	}
	return out, nil
}

// addIDs records the ids rows returns in done and closes rows.
func addIDs(rows *sql.Rows, done map[int64]bool) error {
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		done[id] = true
	}
	return rows.Err()
}
