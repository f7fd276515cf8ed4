package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// specTests cover speculative execution: two live attempts of one
// microtask, of which exactly one may commit.
var specTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"SpeculateFirstWins", testSpeculateFirstWins},
	{"SpeculateDropAttempt", testSpeculateDrop},
	{"SpeculateFinishBatch", testSpeculateFinishBatch},
	{"ClaimSkip", testClaimSkip},
}

// testClaimSkip: microtasks in Skip are passed over, preferred or not,
// and stay ready for another claim.
func testClaimSkip(t *testing.T, s store.Store) {
	ctx := context.Background()
	insertJob(t, s, job("j", 1), items("a"), items("b"), items("c"))
	all := map[string]int64{}
	var ids []int64
	errProbe := errors.New("roll back the probe")
	err := s.InTx(ctx, func(tx store.Tx) error {
		got, err := tx.TaskClaim(ctx, &store.TaskClaimParams{JobID: "j", Stage: 0, Worker: "probe", Limit: 3, Now: t0})
		for _, c := range got {
			all[c.Items[0].ID] = c.ID
			ids = append(ids, c.ID)
		}
		if err != nil {
			return err
		}
		return errProbe
	})
	if !errors.Is(err, errProbe) || len(ids) != 3 {
		t.Fatalf("probe claimed %d", len(ids))
	}
	var got []*store.Claimed
	tx(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.TaskClaim(ctx, &store.TaskClaimParams{JobID: "j", Stage: 0, Worker: "w", Limit: 3, Now: t0,
			Prefer: []int64{all["a"], all["c"]}, Skip: []int64{all["a"], all["b"]}})
		return err
	})
	if len(got) != 1 || got[0].Items[0].ID != "c" {
		t.Fatalf("claimed %+v, want only c", got)
	}
	rest := claim(t, s, "j", 0, 3, "w2")
	if len(rest) != 2 || rest[0].Items[0].ID != "a" || rest[1].Items[0].ID != "b" {
		t.Fatalf("another claim got %+v, want a and b", rest)
	}
}

func speculate(t *testing.T, s store.Store, id int64, worker string) *store.Claimed {
	t.Helper()
	var got *store.Claimed
	tx(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.TaskSpeculate(context.Background(), &store.TaskSpeculateParams{ID: id, Worker: worker, Now: t0})
		return err
	})
	return got
}

func dropAttempt(t *testing.T, s store.Store, id, token int64) bool {
	t.Helper()
	var ok bool
	tx(t, s, func(tx store.Tx) error {
		var err error
		ok, err = tx.TaskDropAttempt(context.Background(), id, token)
		return err
	})
	return ok
}

func running(t *testing.T, s store.Store) map[int64]*store.RunningTask {
	t.Helper()
	rs, err := s.TaskRunning(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]*store.RunningTask{}
	for _, r := range rs {
		out[r.ID] = r
	}
	return out
}

// testSpeculateFirstWins: a copy gets a new token and the microtask's
// items; both attempts are valid until one commits, then the other is
// refused, and the result is the winner's, once.
func testSpeculateFirstWins(t *testing.T, s store.Store) {
	insertJob(t, s, job("j", 1), items("x"), items("y"))
	first := claim(t, s, "j", 0, 1, "w1")[0]
	if got := speculate(t, s, first.ID, "w1"); got != nil {
		t.Fatalf("a copy on the holder itself was granted: %+v", got)
	}
	copy1 := speculate(t, s, first.ID, "w2")
	if copy1 == nil {
		t.Fatal("no copy granted")
	}
	if copy1.ID != first.ID || copy1.Token <= first.Token || len(copy1.Items) != 1 || copy1.Items[0].ID != first.Items[0].ID {
		t.Fatalf("copy %+v of %+v: want the same microtask and items with a newer token", copy1, first)
	}
	if copy1.Attempt != first.Attempt {
		t.Fatalf("copy attempt %d, want %d: a copy is not a retry", copy1.Attempt, first.Attempt)
	}
	if got := speculate(t, s, first.ID, "w3"); got != nil {
		t.Fatalf("a second copy was granted: %+v", got)
	}
	if got := speculate(t, s, first.ID+1, "w3"); got != nil {
		t.Fatalf("a copy of a ready microtask was granted: %+v", got)
	}
	r := running(t, s)[first.ID]
	if r == nil || r.Worker != "w1" || r.Token != first.Token || r.SpecWorker != "w2" || r.SpecToken != copy1.Token {
		t.Fatalf("running row %+v: want holder w1/%d and copy w2/%d", r, first.Token, copy1.Token)
	}
	if c := counts(t, s, "j"); c[0].Running != 1 || c[0].Ready != 1 {
		t.Fatalf("counts %+v: a copy must not count as another running microtask", c[0])
	}
	// The copy wins.
	if !finish(t, s, &store.TaskFinishParams{ID: first.ID, Token: copy1.Token, State: task.Done, Output: items("copy")}) {
		t.Fatal("the copy's completion was refused")
	}
	if finish(t, s, &store.TaskFinishParams{ID: first.ID, Token: first.Token, State: task.Done, Output: items("first")}) {
		t.Fatal("the first attempt's completion was accepted after the copy's")
	}
	if finish(t, s, &store.TaskFinishParams{ID: first.ID, Token: first.Token, State: task.Failed, Error: "late"}) {
		t.Fatal("the first attempt's failure was accepted after the copy's commit")
	}
	var res []string
	if err := s.Results(context.Background(), &store.ResultsParams{JobID: "j", Stages: []int{0}}, func(r *store.Result) error {
		if r.TaskID == first.ID {
			res = append(res, r.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0] != "copy" {
		t.Fatalf("results of the microtask: %v, want [copy]", res)
	}
	// The other microtask: the first attempt wins over its copy.
	second := claim(t, s, "j", 0, 1, "w1")[0]
	copy2 := speculate(t, s, second.ID, "w3")
	if copy2 == nil {
		t.Fatal("no copy of the second microtask")
	}
	if !finish(t, s, &store.TaskFinishParams{ID: second.ID, Token: second.Token, State: task.Done, Output: items("orig")}) {
		t.Fatal("the first attempt's completion was refused while a copy ran")
	}
	if finish(t, s, &store.TaskFinishParams{ID: second.ID, Token: copy2.Token, State: task.Done, Output: items("copy")}) {
		t.Fatal("the copy's completion was accepted after the first attempt's")
	}
	if c := counts(t, s, "j"); c[0].Done != 2 || c[0].Total() != 2 {
		t.Fatalf("counts %+v, want 2 done", c[0])
	}
}

// testSpeculateDrop: ending one attempt leaves the other as the only
// valid one, and a retry after a failure starts clean.
func testSpeculateDrop(t *testing.T, s store.Store) {
	insertJob(t, s, job("j", 1), items("x"))
	first := claim(t, s, "j", 0, 1, "w1")[0]
	if dropAttempt(t, s, first.ID, first.Token) {
		t.Fatal("dropped the only attempt of a microtask without a copy")
	}
	copy1 := speculate(t, s, first.ID, "w2")
	if dropAttempt(t, s, first.ID, copy1.Token+7) {
		t.Fatal("dropped an attempt with an unknown token")
	}
	// The copy gives up: the first attempt stays, alone.
	if !dropAttempt(t, s, first.ID, copy1.Token) {
		t.Fatal("could not drop the copy")
	}
	if r := running(t, s)[first.ID]; r == nil || r.Worker != "w1" || r.Token != first.Token || r.SpecWorker != "" || r.SpecToken != 0 {
		t.Fatalf("after dropping the copy: %+v", r)
	}
	if finish(t, s, &store.TaskFinishParams{ID: first.ID, Token: copy1.Token, State: task.Done}) {
		t.Fatal("the dropped copy's completion was accepted")
	}
	// A new copy; now the first attempt gives up and the copy takes over.
	copy2 := speculate(t, s, first.ID, "w3")
	if copy2 == nil || copy2.Token <= copy1.Token {
		t.Fatalf("second copy %+v, want a token above %d", copy2, copy1.Token)
	}
	if !dropAttempt(t, s, first.ID, first.Token) {
		t.Fatal("could not drop the first attempt")
	}
	if r := running(t, s)[first.ID]; r == nil || r.Worker != "w3" || r.Token != copy2.Token || r.SpecWorker != "" {
		t.Fatalf("after dropping the first attempt: %+v, want the copy w3/%d as the lease", r, copy2.Token)
	}
	if finish(t, s, &store.TaskFinishParams{ID: first.ID, Token: first.Token, State: task.Done}) {
		t.Fatal("the dropped first attempt's completion was accepted")
	}
	// The survivor fails; the retry is a plain lease with a fresh token.
	if !finish(t, s, &store.TaskFinishParams{ID: first.ID, Token: copy2.Token, State: task.Ready, Refund: true}) {
		t.Fatal("the surviving copy could not hand the microtask back")
	}
	retry := claim(t, s, "j", 0, 1, "w4")[0]
	if retry.Token <= copy2.Token {
		t.Fatalf("retry token %d, want above %d", retry.Token, copy2.Token)
	}
	if r := running(t, s)[first.ID]; r == nil || r.Worker != "w4" || r.Token != retry.Token || r.SpecWorker != "" {
		t.Fatalf("after the retry: %+v", r)
	}
	for _, old := range []int64{first.Token, copy1.Token, copy2.Token} {
		if finish(t, s, &store.TaskFinishParams{ID: first.ID, Token: old, State: task.Done}) {
			t.Fatalf("an old token %d was accepted after the retry", old)
		}
	}
	if !finish(t, s, &store.TaskFinishParams{ID: first.ID, Token: retry.Token, State: task.Done}) {
		t.Fatal("the retry's completion was refused")
	}
}

// testSpeculateFinishBatch: the one-statement commit accepts either
// attempt's token, and only the first of the two.
func testSpeculateFinishBatch(t *testing.T, s store.Store) {
	insertJob(t, s, job("j", 1), items("a"), items("b"))
	got := claim(t, s, "j", 0, 2, "w1")
	c := speculate(t, s, got[1].ID, "w2")
	var ok1, ok2 []bool
	batched := true
	tx(t, s, func(tx store.Tx) error {
		bf, ok := tx.(store.TxFinisher)
		if !ok {
			batched = false // optional; TaskFinish is covered above
			return nil
		}
		var err error
		ok1, err = bf.TaskFinishDone(context.Background(), []*store.TaskFinishParams{
			{ID: got[0].ID, Token: got[0].Token, State: task.Done}, {ID: got[1].ID, Token: c.Token, State: task.Done}})
		if err != nil {
			return err
		}
		ok2, err = bf.TaskFinishDone(context.Background(), []*store.TaskFinishParams{{ID: got[1].ID, Token: got[1].Token, State: task.Done}})
		return err
	})
	if batched && (!ok1[0] || !ok1[1] || ok2[0]) {
		t.Fatalf("batch outcomes %v then %v, want [true true] then [false]", ok1, ok2)
	}
}
