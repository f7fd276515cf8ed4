package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// sharedTests cover the methods several coordinators on one store rely on.
var sharedTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"TaskLeases", testTaskLeases},
	{"StageLockCounts", testStageLock},
	{"JobFinishOnce", testJobFinish},
	{"FinishDoneBatch", testFinishDoneBatch},
	{"FinishDoneBatchLarge", testFinishDoneLarge},
	{"FinishDoneBatchStates", testFinishDoneStates},
}

// testFinishDoneBatch: the optional one-statement commit of many results
// applies the same fencing check as TaskFinish, row by row.
func testFinishDoneBatch(t *testing.T, s store.Store) {
	ctx := context.Background()
	insertJob(t, s, job("j", 1), items("a"), items("b"), items("c"), items("d"))
	cl := claim(t, s, "j", 0, 4, "w")
	// c's lease expires and it is leased again: its first token is stale.
	finish(t, s, &store.TaskFinishParams{ID: cl[2].ID, Token: cl[2].Token, State: task.Ready})
	again := claim(t, s, "j", 0, 1, "w2")[0]
	// d is already done.
	finish(t, s, &store.TaskFinishParams{ID: cl[3].ID, Token: cl[3].Token, State: task.Done, Output: items("d")})
	var oks []bool
	supported := true
	tx(t, s, func(tx store.Tx) error {
		bf, ok := tx.(store.TxFinisher)
		if !ok {
			supported = false
			return nil
		}
		var err error
		oks, err = bf.TaskFinishDone(ctx, []*store.TaskFinishParams{
			{ID: cl[0].ID, Token: cl[0].Token, State: task.Done, Output: items("a1", "a2"), Now: t0, Runtime: time.Millisecond},
			{ID: cl[1].ID, Token: cl[1].Token, State: task.Done, Now: t0},
			{ID: cl[2].ID, Token: cl[2].Token, State: task.Done, Output: items("stale"), Now: t0},
			{ID: cl[3].ID, Token: cl[3].Token, State: task.Done, Output: items("twice"), Now: t0},
			{ID: 999999, Token: 1, State: task.Done, Now: t0},
		})
		return err
	})
	if !supported {
		t.Skip("this driver commits results one statement each (store.TxFinisher is optional)")
	}
	if want := []bool{true, true, false, false, false}; fmt.Sprint(oks) != fmt.Sprint(want) {
		t.Fatalf("batch outcomes %v, want %v", oks, want)
	}
	if !finish(t, s, &store.TaskFinishParams{ID: again.ID, Token: again.Token, State: task.Done, Output: items("c")}) {
		t.Fatal("the current lease of c was refused after the stale batch entry")
	}
	var ids []string
	if err := s.Results(ctx, &store.ResultsParams{JobID: "j", Stages: []int{0}}, func(r *store.Result) error {
		ids = append(ids, r.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids) != "[a1 a2 c d]" {
		t.Fatalf("results %v, want [a1 a2 c d]", ids)
	}
}

func testTaskLeases(t *testing.T, s store.Store) {
	ctx := context.Background()
	insertJob(t, s, job("j", 1), items("a"), items("b"), items("c"))
	cl := claim(t, s, "j", 0, 2, "w7")
	finish(t, s, &store.TaskFinishParams{ID: cl[1].ID, Token: cl[1].Token, State: task.Done})
	var got []*store.RunningTask
	tx(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.TaskLeases(ctx, []int64{cl[0].ID, cl[1].ID, 999999})
		return err
	})
	if len(got) != 1 || got[0].ID != cl[0].ID || got[0].Token != cl[0].Token || got[0].Worker != "w7" ||
		got[0].JobID != "j" || got[0].Stage != 0 || got[0].Attempt != 1 || !got[0].StartedAt.Equal(t0) {
		t.Fatalf("leases: got %+v, want only microtask %d held by w7", got, cl[0].ID)
	}
	tx(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.TaskLeases(ctx, nil)
		return err
	})
	if len(got) != 0 {
		t.Fatalf("leases of no ids: %+v", got)
	}
}

func testStageLock(t *testing.T, s store.Store) {
	ctx := context.Background()
	insertJob(t, s, job("j", 2), items("a"), items("b"), items("c"))
	cl := claim(t, s, "j", 0, 2, "w")
	finish(t, s, &store.TaskFinishParams{ID: cl[0].ID, Token: cl[0].Token, State: task.Done})
	tx(t, s, func(tx store.Tx) error {
		if err := tx.PendingAdd(ctx, "j", 1, items("p", "q")); err != nil {
			return err
		}
		// Counts include what this transaction wrote.
		if err := tx.TaskInsert(ctx, &store.TaskInsertParams{JobID: "j", Stage: 1, Now: t0, Inputs: [][]task.Item{items("r")}}); err != nil {
			return err
		}
		st, c, err := tx.StageLock(ctx, "j", 1)
		if err != nil {
			return err
		}
		if st != task.StageRunning || c.Pending != 2 || c.Ready != 1 || c.Total() != 3 {
			return fmt.Errorf("stage 1: %v %+v, want running with 2 pending and 1 ready", st, c)
		}
		st, c, err = tx.StageLock(ctx, "j", 0)
		if err != nil {
			return err
		}
		if st != task.StageRunning || c.Done != 1 || c.Running != 1 || c.Ready != 1 || c.Pending != 0 {
			return fmt.Errorf("stage 0: %v %+v, want 1 done, 1 running, 1 ready", st, c)
		}
		if _, _, err := tx.StageLock(ctx, "j", 7); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("missing stage: got %v, want ErrNotFound", err)
		}
		return nil
	})
}

func testJobFinish(t *testing.T, s store.Store) {
	ctx := context.Background()
	insertJob(t, s, job("j", 1))
	at := t0.Add(time.Minute)
	var first, second bool
	tx(t, s, func(tx store.Tx) error {
		var err error
		if first, err = tx.JobFinish(ctx, "j", task.JobCompleted, at); err != nil {
			return err
		}
		second, err = tx.JobFinish(ctx, "j", task.JobCanceled, at.Add(time.Hour))
		return err
	})
	if !first || second {
		t.Fatalf("JobFinish: first %v second %v, want true then false", first, second)
	}
	j, err := s.JobGet(ctx, "j")
	if err != nil || j.State != task.JobCompleted || j.FinishedAt == nil || !j.FinishedAt.Equal(at) {
		t.Fatalf("job after finish: %+v %v", j, err)
	}
	if err := s.InTx(ctx, func(tx store.Tx) error { _, err := tx.JobFinish(ctx, "j", task.JobRunning, at); return err }); err == nil {
		t.Fatal("JobFinish accepted a state that is not final")
	}
	var ok bool
	tx(t, s, func(tx store.Tx) error {
		var err error
		ok, err = tx.JobFinish(ctx, "nope", task.JobCompleted, at)
		return err
	})
	if ok {
		t.Fatal("finished a job that does not exist")
	}
}

// RunCluster checks what several coordinators sharing one database need
// from a store.Cluster driver. open returns a new handle on the same
// (per-test) database each time it is called with the same t; it must
// arrange for handles to be closed when the test ends.
func RunCluster(t *testing.T, open func(t *testing.T) (newHandle func() store.Store)) {
	t.Run("OneLeaderAndTakeover", func(t *testing.T) {
		t.Parallel()
		h := open(t)
		a, b := h(), h()
		ctx := context.Background()
		la, err := a.(store.Cluster).TryLead(ctx)
		if err != nil || !la {
			t.Fatalf("first handle: lead %v %v, want leader", la, err)
		}
		for i := 0; i < 3; i++ {
			lb, err := b.(store.Cluster).TryLead(ctx)
			if err != nil || lb {
				t.Fatalf("second handle leads too (%v, %v)", lb, err)
			}
			if la, err := a.(store.Cluster).TryLead(ctx); err != nil || !la {
				t.Fatalf("leader lost its lead: %v %v", la, err)
			}
		}
		a.Close()
		// The database notices the closed session asynchronously (its
		// backend exits after the client hangs up), so the lead passes
		// within moments, not at once.
		deadline := time.Now().Add(10 * time.Second)
		for {
			lb, err := b.(store.Cluster).TryLead(ctx)
			if err != nil {
				t.Fatalf("after the leader closed, the other handle: %v", err)
			}
			if lb {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the other handle did not take the lead within 10 s of the leader closing")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	t.Run("ClaimsAcrossHandles", func(t *testing.T) {
		t.Parallel()
		h := open(t)
		handles := []store.Store{h(), h(), h()}
		const n = 600
		in := make([][]task.Item, n)
		for i := range in {
			in[i] = items(fmt.Sprint(i))
		}
		insertJob(t, handles[0], job("j", 1), in...)
		var mu sync.Mutex
		seen := map[int64]bool{}
		errs := make(chan error, 16)
		var wg sync.WaitGroup
		for w := 0; w < 9; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				s := handles[w%len(handles)]
				for {
					var got []*store.Claimed
					err := s.InTx(context.Background(), func(tx store.Tx) error {
						var err error
						got, err = tx.TaskClaim(context.Background(), &store.TaskClaimParams{JobID: "j", Worker: fmt.Sprint("w", w), Limit: 5, Now: t0})
						if err != nil {
							return err
						}
						// Complete half at once, in the same transaction.
						for i, c := range got {
							if i%2 == 0 {
								if _, err := tx.TaskFinish(context.Background(), &store.TaskFinishParams{ID: c.ID, Token: c.Token, State: task.Done, Now: t0}); err != nil {
									return err
								}
							}
						}
						return nil
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
						if seen[c.ID] {
							errs <- fmt.Errorf("microtask %d leased twice", c.ID)
						}
						seen[c.ID] = true
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
	})
	t.Run("StageLockSerialises", func(t *testing.T) {
		t.Parallel()
		h := open(t)
		a, b := h(), h()
		insertJob(t, a, job("j", 2))
		ctx := context.Background()
		// Two coordinators race to start the same waiting stage: each
		// locks it, and only the one that still sees it waiting inserts
		// the reduce microtask.
		var wg sync.WaitGroup
		var mu sync.Mutex
		inserted := 0
		errs := make(chan error, 2)
		for _, s := range []store.Store{a, b} {
			wg.Add(1)
			go func(s store.Store) {
				defer wg.Done()
				for i := 0; i < 20; i++ {
					err := s.InTx(ctx, func(tx store.Tx) error {
						st, _, err := tx.StageLock(ctx, "j", 1)
						if err != nil || st != task.StageRunning {
							return err
						}
						if err := tx.TaskInsert(ctx, &store.TaskInsertParams{JobID: "j", Stage: 1, Now: t0, Inputs: [][]task.Item{nil}}); err != nil {
							return err
						}
						mu.Lock()
						inserted++
						mu.Unlock()
						return tx.StageSetState(ctx, "j", 1, task.StageDone)
					})
					if err != nil {
						errs <- err
						return
					}
				}
			}(s)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if c := counts(t, a, "j"); inserted != 1 || c[1].Total() != 1 {
			t.Fatalf("inserted %d times, %d microtasks in the store; want exactly 1", inserted, c[1].Total())
		}
	})
}
