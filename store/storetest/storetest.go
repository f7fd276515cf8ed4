// Package storetest is the conformance suite every store driver must pass.
// Each test gets a fresh, empty store from the driver's constructor.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// Run runs the suite. newStore returns an empty store and must arrange
// for it to be closed when the test ends.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"JobInsertGetList", testJobs},
		{"ClaimOrderAndTokens", testClaim},
		{"ClaimPreferred", testClaimPrefer},
		{"FinishFencing", testFinishFencing},
		{"FailWakeRefund", testFailWake},
		{"CancelAndRevive", testCancelRevive},
		{"RetryReopensJob", testRetryReopen},
		{"PendingBuffer", testPending},
		{"OutputsAndResults", testResults},
		{"RunningAndWorkers", testRunningWorkers},
		{"TxRollback", testRollback},
		{"ConcurrentClaims", testConcurrentClaims},
		{"Metrics", testMetrics},
		{"Tokens", testTokens},
		{"JobOwner", testJobOwner},
	}
	tests = append(tests, sharedTests...)
	tests = append(tests, specTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func job(id string, stages int) *task.Job {
	j := &task.Job{ID: id, Name: "n-" + id, State: task.JobRunning, Priority: 2, Weight: 1.5, Items: 3, CreatedAt: t0}
	for i := 0; i < stages; i++ {
		j.Stages = append(j.Stages, task.Stage{Name: fmt.Sprintf("s%d", i), Op: "noop", Kind: task.Map, Batch: 1, After: []string{task.InputStage}})
	}
	return j
}

func items(ids ...string) []task.Item {
	out := make([]task.Item, len(ids))
	for i, id := range ids {
		out[i] = task.Item{ID: id, Data: json.RawMessage(fmt.Sprintf(`{"v":%q}`, id))}
	}
	return out
}

func tx(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.InTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func insertJob(t *testing.T, s store.Store, j *task.Job, inputs ...[]task.Item) {
	t.Helper()
	tx(t, s, func(tx store.Tx) error {
		if err := tx.JobInsert(context.Background(), j, nil); err != nil {
			return err
		}
		return tx.TaskInsert(context.Background(), &store.TaskInsertParams{JobID: j.ID, Stage: 0, Now: t0, Inputs: inputs})
	})
}

func claim(t *testing.T, s store.Store, jobID string, stage, n int, worker string) []*store.Claimed {
	t.Helper()
	var got []*store.Claimed
	tx(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.TaskClaim(context.Background(), &store.TaskClaimParams{JobID: jobID, Stage: stage, Worker: worker, Limit: n, Now: t0})
		return err
	})
	return got
}

func finish(t *testing.T, s store.Store, p *store.TaskFinishParams) bool {
	t.Helper()
	var ok bool
	if p.Now.IsZero() {
		p.Now = t0
	}
	tx(t, s, func(tx store.Tx) error {
		var err error
		ok, err = tx.TaskFinish(context.Background(), p)
		return err
	})
	return ok
}

func counts(t *testing.T, s store.Store, jobID string) []task.Counts {
	t.Helper()
	c, err := s.TaskCounts(context.Background(), jobID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testJobs(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := job("a", 2), job("b", 1)
	b.CreatedAt = t0.Add(time.Second)
	tx(t, s, func(tx store.Tx) error {
		if err := tx.JobInsert(ctx, a, []int{1}); err != nil {
			return err
		}
		return tx.JobInsert(ctx, b, nil)
	})
	err := s.InTx(ctx, func(tx store.Tx) error { return tx.JobInsert(ctx, job("a", 1), nil) })
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate id: got %v, want ErrConflict", err)
	}
	got, err := s.JobGet(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "n-a" || got.Priority != 2 || got.Weight != 1.5 || got.Items != 3 || !got.CreatedAt.Equal(t0) ||
		len(got.Stages) != 2 || got.Stages[1].Name != "s1" || got.State != task.JobRunning || got.FinishedAt != nil {
		t.Fatalf("got %+v", got)
	}
	if _, err := s.JobGet(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing job: got %v, want ErrNotFound", err)
	}
	st, err := s.StageStates(ctx, "a")
	if err != nil || len(st) != 2 || st[0] != task.StageRunning || st[1] != task.StageWaiting {
		t.Fatalf("stage states: %v %v", st, err)
	}
	tx(t, s, func(tx store.Tx) error {
		if err := tx.StageSetState(ctx, "a", 1, task.StageDone); err != nil {
			return err
		}
		return tx.JobSetState(ctx, "a", task.JobCompleted, t0.Add(time.Minute))
	})
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.JobSetState(ctx, "zz", task.JobCanceled, t0) }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("set state of missing job: got %v", err)
	}
	got, _ = s.JobGet(ctx, "a")
	if got.State != task.JobCompleted || got.FinishedAt == nil || !got.FinishedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after set state: %+v", got)
	}
	st, _ = s.StageStates(ctx, "a")
	if st[1] != task.StageDone {
		t.Fatalf("stage 1: %v", st[1])
	}
	all, err := s.JobList(ctx, &store.JobListParams{})
	if err != nil || len(all) != 2 || all[0].ID != "b" {
		t.Fatalf("list: %v %v", all, err)
	}
	active, _ := s.JobList(ctx, &store.JobListParams{Active: true})
	if len(active) != 1 || active[0].ID != "b" {
		t.Fatalf("active: %v", active)
	}
	one, _ := s.JobList(ctx, &store.JobListParams{Limit: 1, State: task.JobCompleted})
	if len(one) != 1 || one[0].ID != "a" {
		t.Fatalf("filtered: %v", one)
	}
}

func testClaim(t *testing.T, s store.Store) {
	insertJob(t, s, job("j", 1), items("x"), items("y", "z"), items("w"))
	c := counts(t, s, "j")
	if c[0].Ready != 3 {
		t.Fatalf("counts: %+v", c)
	}
	got := claim(t, s, "j", 0, 2, "w1")
	if len(got) != 2 {
		t.Fatalf("claimed %d, want 2", len(got))
	}
	if got[0].ID > got[1].ID {
		got[0], got[1] = got[1], got[0]
	}
	if got[0].Items[0].ID != "x" || len(got[1].Items) != 2 || got[1].Items[1].ID != "z" || string(got[1].Items[0].Data) != `{"v":"y"}` {
		t.Fatalf("claimed inputs: %+v %+v", got[0].Items, got[1].Items)
	}
	if got[0].Token <= 0 || got[0].Attempt != 1 {
		t.Fatalf("token %d attempt %d", got[0].Token, got[0].Attempt)
	}
	rest := claim(t, s, "j", 0, 10, "w2")
	if len(rest) != 1 || rest[0].Items[0].ID != "w" {
		t.Fatalf("second claim: %+v", rest)
	}
	if more := claim(t, s, "j", 0, 10, "w2"); len(more) != 0 {
		t.Fatalf("claimed %d from an empty queue", len(more))
	}
	if other := claim(t, s, "j", 1, 10, "w2"); len(other) != 0 {
		t.Fatalf("claimed from another stage")
	}
	c = counts(t, s, "j")
	if c[0].Running != 3 || c[0].Ready != 0 {
		t.Fatalf("counts after claims: %+v", c)
	}
}

func testClaimPrefer(t *testing.T, s store.Store) {
	ctx := context.Background()
	var ids []int64
	tx(t, s, func(tx store.Tx) error {
		if err := tx.JobInsert(ctx, job("j", 2), nil); err != nil {
			return err
		}
		p := &store.TaskInsertParams{JobID: "j", Stage: 0, Now: t0, Inputs: [][]task.Item{items("a"), items("b"), items("c"), items("d")}}
		if err := tx.TaskInsert(ctx, p); err != nil {
			return err
		}
		ids = p.IDs
		q := &store.TaskInsertParams{JobID: "j", Stage: 1, Now: t0, Inputs: [][]task.Item{items("other")}}
		if err := tx.TaskInsert(ctx, q); err != nil {
			return err
		}
		ids = append(ids, q.IDs...)
		return nil
	})
	if len(ids) != 5 || ids[0] >= ids[1] || ids[1] >= ids[2] {
		t.Fatalf("inserted ids %v", ids)
	}
	// Prefer d and c (and the stage-1 microtask, which must be ignored).
	var got []*store.Claimed
	tx(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.TaskClaim(ctx, &store.TaskClaimParams{JobID: "j", Stage: 0, Worker: "w", Limit: 3, Now: t0, Prefer: []int64{ids[3], ids[4], ids[2]}})
		return err
	})
	if len(got) != 3 || got[0].Items[0].ID != "d" || got[1].Items[0].ID != "c" || got[2].Items[0].ID != "a" {
		var names []string
		for _, c := range got {
			names = append(names, c.Items[0].ID)
		}
		t.Fatalf("claimed %v, want d, c, then the oldest a", names)
	}
	// A preferred id that is no longer ready is skipped.
	tx(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.TaskClaim(ctx, &store.TaskClaimParams{JobID: "j", Stage: 0, Worker: "w", Limit: 5, Now: t0, Prefer: []int64{ids[3]}})
		return err
	})
	if len(got) != 1 || got[0].Items[0].ID != "b" {
		t.Fatalf("second claim: %+v", got)
	}
}

func testFinishFencing(t *testing.T, s store.Store) {
	insertJob(t, s, job("j", 1), items("x"))
	first := claim(t, s, "j", 0, 1, "w1")[0]
	// The lease expires: the microtask goes back to the queue, fenced.
	if !finish(t, s, &store.TaskFinishParams{ID: first.ID, Token: first.Token, State: task.Ready, Error: "lease expired"}) {
		t.Fatal("requeue refused")
	}
	second := claim(t, s, "j", 0, 1, "w2")[0]
	if second.Token <= first.Token || second.Attempt != 2 {
		t.Fatalf("second lease token %d attempt %d, first token %d", second.Token, second.Attempt, first.Token)
	}
	late := finish(t, s, &store.TaskFinishParams{ID: first.ID, Token: first.Token, State: task.Done, Output: items("stale")})
	if late {
		t.Fatal("a completion with the old token was accepted")
	}
	if !finish(t, s, &store.TaskFinishParams{ID: second.ID, Token: second.Token, State: task.Done, Output: items("good"), Runtime: 5 * time.Millisecond}) {
		t.Fatal("a completion with the current token was refused")
	}
	if finish(t, s, &store.TaskFinishParams{ID: second.ID, Token: second.Token, State: task.Done, Output: items("again")}) {
		t.Fatal("a second completion was accepted")
	}
	if finish(t, s, &store.TaskFinishParams{ID: second.ID, Token: second.Token, State: task.Failed, Error: "x"}) {
		t.Fatal("a failure after the commit was accepted")
	}
	var res []*store.Result
	if err := s.Results(context.Background(), &store.ResultsParams{JobID: "j", Stages: []int{0}}, func(r *store.Result) error {
		res = append(res, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].ID != "good" {
		t.Fatalf("results: %+v", res)
	}
	if c := counts(t, s, "j"); c[0].Done != 1 || c[0].Total() != 1 {
		t.Fatalf("counts: %+v", c)
	}
	if finish(t, s, &store.TaskFinishParams{ID: 999999, Token: 1, State: task.Done}) {
		t.Fatal("finished a microtask that does not exist")
	}
}

func testFailWake(t *testing.T, s store.Store) {
	ctx := context.Background()
	insertJob(t, s, job("j", 1), items("x"), items("y"))
	cl := claim(t, s, "j", 0, 2, "w1")
	retryAt := t0.Add(10 * time.Second)
	if !finish(t, s, &store.TaskFinishParams{ID: cl[0].ID, Token: cl[0].Token, State: task.Failed, Error: "boom", NotBefore: retryAt}) {
		t.Fatal("failure refused")
	}
	// A hand-back refunds the attempt.
	if !finish(t, s, &store.TaskFinishParams{ID: cl[1].ID, Token: cl[1].Token, State: task.Ready, Refund: true}) {
		t.Fatal("hand-back refused")
	}
	due, err := s.TaskFailedDue(ctx)
	if err != nil || !due.Equal(retryAt) {
		t.Fatalf("failed due: %v %v", due, err)
	}
	c := counts(t, s, "j")
	if c[0].Failed != 1 || c[0].Ready != 1 {
		t.Fatalf("counts: %+v", c)
	}
	var woke []store.StageCount
	var next time.Time
	wake := func(at time.Time) {
		tx(t, s, func(tx store.Tx) error {
			var err error
			woke, next, err = tx.TaskWake(ctx, at)
			return err
		})
	}
	wake(t0.Add(5 * time.Second))
	if len(woke) != 0 || !next.Equal(retryAt) {
		t.Fatalf("woke early: %+v, next %v", woke, next)
	}
	wake(retryAt)
	if len(woke) != 1 || woke[0].N != 1 || woke[0].JobID != "j" || woke[0].Stage != 0 || !next.IsZero() {
		t.Fatalf("woke: %+v, next %v", woke, next)
	}
	again := claim(t, s, "j", 0, 2, "w2")
	attempts := map[int64]int{}
	for _, c := range again {
		attempts[c.ID] = c.Attempt
	}
	if attempts[cl[0].ID] != 2 || attempts[cl[1].ID] != 1 {
		t.Fatalf("attempts after retry and refund: %v", attempts)
	}
	if due, _ := s.TaskFailedDue(ctx); !due.IsZero() {
		t.Fatalf("failed due with nothing failed: %v", due)
	}
	dead := again[0]
	if !finish(t, s, &store.TaskFinishParams{ID: dead.ID, Token: dead.Token, State: task.Dead, Error: "exit status 3"}) {
		t.Fatal("dead refused")
	}
	st := task.Dead
	list, err := s.TaskList(ctx, &store.TaskListParams{JobID: "j", State: &st})
	if err != nil || len(list) != 1 || list[0].Error != "exit status 3" || list[0].State != task.Dead || list[0].FinishedAt == nil {
		t.Fatalf("dead list: %+v %v", list, err)
	}
}

func testCancelRevive(t *testing.T, s store.Store) {
	ctx := context.Background()
	insertJob(t, s, job("j", 1), items("a"), items("b"), items("c"))
	cl := claim(t, s, "j", 0, 2, "w")
	finish(t, s, &store.TaskFinishParams{ID: cl[0].ID, Token: cl[0].Token, State: task.Dead, Error: "x"})
	var revived []store.StageCount
	tx(t, s, func(tx store.Tx) error { var err error; revived, err = tx.TaskRevive(ctx, "j"); return err })
	if len(revived) != 1 || revived[0].N != 1 {
		t.Fatalf("revived: %+v", revived)
	}
	var cancelled []store.StateCount
	tx(t, s, func(tx store.Tx) error {
		if err := tx.PendingAdd(ctx, "j", 0, items("p")); err != nil {
			return err
		}
		var err error
		cancelled, err = tx.TaskCancel(ctx, "j", t0)
		return err
	})
	by := map[task.State]int64{}
	for _, c := range cancelled {
		by[c.State] += c.N
	}
	if by[task.Ready] != 2 || by[task.Running] != 1 || len(by) != 2 {
		t.Fatalf("cancelled: %+v", cancelled)
	}
	c := counts(t, s, "j")
	if c[0].Canceled != 3 || c[0].Open() != 0 || c[0].Pending != 0 {
		t.Fatalf("counts after cancel: %+v", c)
	}
	if finish(t, s, &store.TaskFinishParams{ID: cl[1].ID, Token: cl[1].Token, State: task.Done}) {
		t.Fatal("a completion after cancel was accepted")
	}
}

func testPending(t *testing.T, s store.Store) {
	ctx := context.Background()
	insertJob(t, s, job("j", 2))
	tx(t, s, func(tx store.Tx) error {
		if err := tx.PendingAdd(ctx, "j", 1, items("a", "b")); err != nil {
			return err
		}
		return tx.PendingAdd(ctx, "j", 1, items("c"))
	})
	if c := counts(t, s, "j"); c[1].Pending != 3 {
		t.Fatalf("pending: %+v", c[1])
	}
	var got []task.Item
	tx(t, s, func(tx store.Tx) error { var err error; got, err = tx.PendingTake(ctx, "j", 1, 2); return err })
	if len(got) != 2 || got[0].ID != "a" || got[1].ID != "b" || string(got[1].Data) != `{"v":"b"}` {
		t.Fatalf("took %+v", got)
	}
	tx(t, s, func(tx store.Tx) error { var err error; got, err = tx.PendingTake(ctx, "j", 1, 5); return err })
	if len(got) != 1 || got[0].ID != "c" {
		t.Fatalf("took %+v", got)
	}
	if c := counts(t, s, "j"); c[1].Pending != 0 {
		t.Fatalf("pending after take: %+v", c[1])
	}
}

func testResults(t *testing.T, s store.Store) {
	ctx := context.Background()
	insertJob(t, s, job("j", 2), items("a"), items("b", "c"), items("d"))
	tx(t, s, func(tx store.Tx) error {
		return tx.TaskInsert(ctx, &store.TaskInsertParams{JobID: "j", Stage: 1, Now: t0, Inputs: [][]task.Item{nil}})
	})
	cl := claim(t, s, "j", 0, 3, "w")
	byID := map[string]*store.Claimed{}
	for _, c := range cl {
		byID[c.Items[0].ID] = c
	}
	finish(t, s, &store.TaskFinishParams{ID: byID["a"].ID, Token: byID["a"].Token, State: task.Done, Output: items("a")})
	finish(t, s, &store.TaskFinishParams{ID: byID["b"].ID, Token: byID["b"].Token, State: task.Done, Output: items("b", "c", "c#2")})
	finish(t, s, &store.TaskFinishParams{ID: byID["d"].ID, Token: byID["d"].Token, State: task.Dead, Error: "bad d"})
	var outs []task.Item
	tx(t, s, func(tx store.Tx) error { var err error; outs, err = tx.TaskOutputs(ctx, "j", []int{0}); return err })
	if len(outs) != 4 || outs[3].ID != "c#2" {
		t.Fatalf("outputs: %+v", outs)
	}
	red := claim(t, s, "j", 1, 1, "w")
	if len(red) != 1 || red[0].Items != nil {
		t.Fatalf("reduce claim: %+v", red)
	}
	var res []*store.Result
	if err := s.Results(ctx, &store.ResultsParams{JobID: "j", Stages: []int{0}}, func(r *store.Result) error {
		res = append(res, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(res) != 5 || res[4].ID != "d" || res[4].Error != "bad d" || res[0].Data == nil || res[0].Error != "" {
		for _, r := range res {
			t.Logf("%+v", r)
		}
		t.Fatalf("results: %d", len(res))
	}
	stop := errors.New("stop")
	n := 0
	err := s.Results(ctx, &store.ResultsParams{JobID: "j", Stages: []int{0}}, func(r *store.Result) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("stopping the stream: %v after %d", err, n)
	}
}

func testRunningWorkers(t *testing.T, s store.Store) {
	ctx := context.Background()
	insertJob(t, s, job("j", 1), items("a"), items("b"))
	cl := claim(t, s, "j", 0, 1, "w9")
	run, err := s.TaskRunning(ctx)
	if err != nil || len(run) != 1 || run[0].ID != cl[0].ID || run[0].Worker != "w9" || run[0].Token != cl[0].Token || run[0].JobID != "j" || !run[0].StartedAt.Equal(t0) {
		t.Fatalf("running: %+v %v", run, err)
	}
	w := &task.Worker{ID: "w9", Name: "host", Slots: 4, Ops: []string{"noop"}, Labels: map[string]string{"gpu": "1"}, LastSeen: t0, State: task.WorkerAlive}
	tx(t, s, func(tx store.Tx) error { return tx.WorkerUpsert(ctx, w) })
	w.Slots = 8
	tx(t, s, func(tx store.Tx) error { return tx.WorkerUpsert(ctx, w) })
	ws, err := s.WorkerList(ctx)
	if err != nil || len(ws) != 1 || ws[0].Slots != 8 || ws[0].Labels["gpu"] != "1" {
		t.Fatalf("workers: %+v %v", ws, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func testRollback(t *testing.T, s store.Store) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.JobInsert(ctx, job("j", 1), nil); err != nil {
			return err
		}
		if err := tx.TaskInsert(ctx, &store.TaskInsertParams{JobID: "j", Now: t0, Inputs: [][]task.Item{items("a")}}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if _, err := s.JobGet(ctx, "j"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("job survived a rolled-back transaction: %v", err)
	}
	if run, _ := s.TaskRunning(ctx); len(run) != 0 {
		t.Fatal("microtasks survived")
	}
}

// testConcurrentClaims: many claimers never lease the same microtask.
func testConcurrentClaims(t *testing.T, s store.Store) {
	const n = 400
	in := make([][]task.Item, n)
	for i := range in {
		in[i] = items(fmt.Sprint(i))
	}
	insertJob(t, s, job("j", 1), in...)
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			name := fmt.Sprintf("w%d", w)
			for {
				var got []*store.Claimed
				err := s.InTx(context.Background(), func(tx store.Tx) error {
					var err error
					got, err = tx.TaskClaim(context.Background(), &store.TaskClaimParams{JobID: "j", Worker: name, Limit: 7, Now: t0})
					return err
				})
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, c := range got {
					if prev, dup := seen[c.ID]; dup {
						errs <- fmt.Errorf("microtask %d leased to %s and %s", c.ID, prev, name)
					}
					seen[c.ID] = name
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(seen) != n {
		t.Fatalf("leased %d distinct microtasks, want %d", len(seen), n)
	}
}
