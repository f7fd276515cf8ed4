package coord

import (
	"context"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// finishBatch is a transaction whose TaskFinish answers, for completions
// committed ahead in one statement (store.TxFinisher), with the outcome
// already known. It lets syncOnce keep committing results one by one
// while a store where each statement is a round trip pays one for all.
type finishBatch struct {
	store.Tx
	known map[int64]finishKnown
}

type finishKnown struct {
	token int64
	ok    bool
}

func (f *finishBatch) TaskFinish(ctx context.Context, p *store.TaskFinishParams) (bool, error) {
	if k, found := f.known[p.ID]; found && p.State == task.Done && k.token == p.Token {
		delete(f.known, p.ID) // a second report of it goes to the store, which refuses it
		return k.ok, nil
	}
	return f.Tx.TaskFinish(ctx, p)
}

// finishAheadLocked commits in one statement the completions of req that
// the per-report checks in syncOnce will accept (their lease is held by w
// with that token), if the store can; it returns the transaction to use.
func (c *Coordinator) finishAheadLocked(ctx context.Context, tx store.Tx, w *workerRT, req *api.SyncRequest, now time.Time) (store.Tx, error) {
	bf, ok := tx.(store.TxFinisher)
	if !ok || len(req.Done) < 2 {
		return tx, nil
	}
	ps := make([]*store.TaskFinishParams, 0, len(req.Done))
	seen := make(map[int64]bool, len(req.Done))
	for i := range req.Done {
		d := &req.Done[i]
		a := w.leases[d.Task]
		if a == nil || a.token != d.Token || seen[d.Task] {
			continue
		}
		seen[d.Task] = true
		ps = append(ps, &store.TaskFinishParams{ID: d.Task, Token: d.Token, State: task.Done, Output: d.Output,
			Runtime: time.Duration(d.RuntimeMS) * time.Millisecond, Now: now})
	}
	if len(ps) < 2 {
		return tx, nil
	}
	oks, err := bf.TaskFinishDone(ctx, ps)
	if err != nil {
		return nil, err
	}
	fb := &finishBatch{Tx: tx, known: make(map[int64]finishKnown, len(ps))}
	for i, p := range ps {
		fb.known[p.ID] = finishKnown{token: p.Token, ok: oks[i]}
	}
	return fb, nil
}
