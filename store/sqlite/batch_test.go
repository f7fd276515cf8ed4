package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), t.TempDir(), Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func inTx(t *testing.T, s *Store, fn func(tx *txn) error) {
	t.Helper()
	if err := s.InTx(context.Background(), func(tx store.Tx) error { return fn(tx.(*txn)) }); err != nil {
		t.Fatal(err)
	}
}

// allColumns are the columns of microtasks, with SQLite's own quoting
// (so that a blob and a text differ).
const allColumns = `quote(id), quote(job_id), quote(stage), quote(state), quote(attempts), quote(token), quote(fence),
	quote(worker), quote(not_before), quote(n_items), quote(input), quote(result), quote(error), quote(created_at),
	quote(started_at), quote(finished_at), quote(runtime_ms), quote(spec_worker), quote(spec_token)`

// dumpRow renders the given columns of one microtask.
func dumpRow(t *testing.T, s *Store, id int64, cols string) string {
	t.Helper()
	var row string
	if err := s.w.QueryRow(`SELECT concat_ws(' | ', `+cols+`) FROM microtasks WHERE id = ?`, id).Scan(&row); err != nil {
		t.Fatalf("microtask %d: %v", id, err)
	}
	return row
}

// outputs covers what a result's encoding could trip on: none (stored
// as []), an empty list, HTML characters json.Marshal escapes, non-ASCII
// text, nested JSON with spaces, and a dropped item.
var outputs = [][]task.Item{
	nil,
	{},
	{{ID: "a<b>&c", Data: json.RawMessage(`{"t": "x < y && \"z\"", "n": [1, 2.50, 3e2]}`)}},
	{{ID: "ü€𝄞", Data: json.RawMessage(`"\u00fc \ud834\udd1e"`)}, {ID: "2", Data: json.RawMessage(`null`), Dropped: "bad"}},
}

// TaskFinishDone stores exactly what TaskFinish with State Done stores.
func TestFinishDoneStoresWhatFinishDoes(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	inputs := make([][]task.Item, 2*len(outputs))
	for i := range inputs {
		inputs[i] = []task.Item{{ID: fmt.Sprint(i), Data: json.RawMessage(`{}`)}}
	}
	var cl []*store.Claimed
	inTx(t, s, func(tx *txn) error {
		if err := tx.JobInsert(ctx, &task.Job{ID: "j", State: task.JobRunning, CreatedAt: time.Now(),
			Stages: []task.Stage{{Name: "s", Op: "noop", Kind: task.Map, Batch: 1}}}, nil); err != nil {
			return err
		}
		if err := tx.TaskInsert(ctx, &store.TaskInsertParams{JobID: "j", Now: time.UnixMilli(1000), Inputs: inputs}); err != nil {
			return err
		}
		var err error
		cl, err = tx.TaskClaim(ctx, &store.TaskClaimParams{JobID: "j", Worker: "w", Limit: len(inputs), Now: time.UnixMilli(2000)})
		return err
	})
	single, batch := cl[:len(outputs)], cl[len(outputs):]
	now := time.UnixMilli(1_700_000_000_123)
	params := func(c *store.Claimed, i int) *store.TaskFinishParams {
		return &store.TaskFinishParams{ID: c.ID, Token: c.Token, State: task.Done, Output: outputs[i], Now: now, Runtime: time.Duration(i) * 1500 * time.Microsecond}
	}
	inTx(t, s, func(tx *txn) error {
		var ps []*store.TaskFinishParams
		for i := range outputs {
			if ok, err := tx.TaskFinish(ctx, params(single[i], i)); err != nil || !ok {
				return fmt.Errorf("TaskFinish %d: %v %w", i, ok, err)
			}
			ps = append(ps, params(batch[i], i))
		}
		oks, err := tx.TaskFinishDone(ctx, ps)
		if err == nil && slices.Contains(oks, false) {
			err = fmt.Errorf("outcomes %v", oks)
		}
		return err
	})
	// Every column but id and input, which name the microtask.
	cols := strings.NewReplacer("quote(id), ", "", "quote(input), ", "").Replace(allColumns) + ", typeof(result)"
	for i := range outputs {
		a, b := dumpRow(t, s, single[i].ID, cols), dumpRow(t, s, batch[i].ID, cols)
		if a != b {
			t.Errorf("output %d: TaskFinish stored\n  %s\nTaskFinishDone stored\n  %s", i, a, b)
		}
		if !strings.HasSuffix(a, "| blob") {
			t.Errorf("output %d: result not stored as a blob: %s", i, a)
		}
	}
}

// insertOneSQL is how TaskInsert stored a microtask before it inserted
// many per statement: the reference for what it must store.
const insertOneSQL = `INSERT INTO microtasks (job_id, stage, state, n_items, input, created_at) VALUES (?, ?, 1, ?, ?, ?)`

// TaskInsert, inserting many rows per statement, stores what one INSERT
// per microtask stored, under the same ids, and reports the ids in order,
// for batch sizes around each statement size it uses.
func TestInsertStoresWhatPerRowDid(t *testing.T) {
	ctx := context.Background()
	kinds := [][]task.Item{
		nil, // a reduce: reads its inputs when claimed
		{},
		{{ID: "a<b>", Data: json.RawMessage(`{"x": [1, 2]}`)}},
		{{ID: "ü", Data: json.RawMessage(`"\u00fc"`)}, {ID: "2", Data: json.RawMessage(`null`), Dropped: "why"}},
	}
	for _, n := range []int{1, 2, 3, 7, insertChunk - 1, insertChunk, insertChunk + 1, 2*insertChunk + 37} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			inputs := make([][]task.Item, n)
			for i := range inputs {
				inputs[i] = kinds[i%len(kinds)]
				if i%len(kinds) == 2 {
					inputs[i] = []task.Item{{ID: fmt.Sprint(i), Data: json.RawMessage(`{"i": ` + fmt.Sprint(i) + `}`)}}
				}
			}
			stores := [2]*Store{openTest(t), openTest(t)}
			var ids [2][]int64
			for k, s := range stores {
				inTx(t, s, func(tx *txn) error {
					// Some earlier microtasks, so ids do not start at 1.
					if err := tx.TaskInsert(ctx, &store.TaskInsertParams{JobID: "other", Stage: 2, Now: time.UnixMilli(5), Inputs: kinds}); err != nil {
						return err
					}
					if k == 1 {
						p := &store.TaskInsertParams{JobID: "j", Stage: 1, Now: time.UnixMilli(1_700_000_000_123), Inputs: inputs}
						err := tx.TaskInsert(ctx, p)
						ids[k] = p.IDs
						return err
					}
					for _, items := range inputs {
						var input []byte
						if items != nil {
							input, _ = json.Marshal(items)
						}
						res, err := tx.tx.ExecContext(ctx, insertOneSQL, "j", 1, len(items), input, int64(1_700_000_000_123))
						if err != nil {
							return err
						}
						id, _ := res.LastInsertId()
						ids[k] = append(ids[k], id)
					}
					return nil
				})
			}
			if fmt.Sprint(ids[0]) != fmt.Sprint(ids[1]) {
				t.Fatalf("ids %v, want %v", ids[1], ids[0])
			}
			for i, id := range ids[0] {
				a, b := dumpRow(t, stores[0], id, allColumns), dumpRow(t, stores[1], id, allColumns)
				if a != b {
					t.Fatalf("microtask %d (input %d): one INSERT each stored\n  %s\nTaskInsert stored\n  %s", id, i, a, b)
				}
			}
			var total [2]int
			for k, s := range stores {
				if err := s.w.QueryRow(`SELECT count(*) FROM microtasks`).Scan(&total[k]); err != nil {
					t.Fatal(err)
				}
			}
			if total[0] != total[1] || total[1] != n+len(kinds) {
				t.Fatalf("%d and %d microtasks stored, want %d", total[0], total[1], n+len(kinds))
			}
		})
	}
}
