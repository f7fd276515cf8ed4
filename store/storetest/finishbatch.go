package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// finishDone commits ps in one store.TxFinisher call; supported is false
// (and nothing is written) if the store's transactions do not offer it.
func finishDone(t *testing.T, s store.Store, ps []*store.TaskFinishParams) (oks []bool, supported bool) {
	t.Helper()
	supported = true
	tx(t, s, func(tx store.Tx) error {
		bf, ok := tx.(store.TxFinisher)
		if !ok {
			supported = false
			return nil
		}
		var err error
		oks, err = bf.TaskFinishDone(context.Background(), ps)
		return err
	})
	if supported && len(oks) != len(ps) {
		t.Fatalf("TaskFinishDone gave %d outcomes for %d completions", len(oks), len(ps))
	}
	return oks, supported
}

// testFinishDoneLarge: a batch larger than any one statement a store
// might use, given out of id order, with refused entries scattered
// through it: the outcomes follow the parameters' order and exactly the
// accepted results are kept.
func testFinishDoneLarge(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 1100
	inputs := make([][]task.Item, n)
	for i := range inputs {
		inputs[i] = items(fmt.Sprint(i))
	}
	insertJob(t, s, job("j", 1), inputs...)
	cl := claim(t, s, "j", 0, n, "w")
	if len(cl) != n {
		t.Fatalf("claimed %d, want %d", len(cl), n)
	}
	var ps []*store.TaskFinishParams
	var want []bool
	wantOut := map[string]bool{}
	for i, c := range slices.Backward(cl) { // not in id order
		p := &store.TaskFinishParams{ID: c.ID, Token: c.Token, State: task.Done, Output: items("out" + c.Items[0].ID), Now: t0}
		ok := true
		switch {
		case i%5 == 1: // a stale or forged token
			p.Token += 1000
			ok = false
		case i%7 == 2: // already committed on its own
			if !finish(t, s, &store.TaskFinishParams{ID: c.ID, Token: c.Token, State: task.Done, Output: items("single" + c.Items[0].ID)}) {
				t.Fatalf("TaskFinish of %d refused", c.ID)
			}
			wantOut["single"+c.Items[0].ID] = true
			ok = false
		}
		if ok {
			wantOut["out"+c.Items[0].ID] = true
		}
		ps = append(ps, p)
		want = append(want, ok)
	}
	oks, supported := finishDone(t, s, ps)
	if !supported {
		t.Skip("this driver commits results one statement each (store.TxFinisher is optional)")
	}
	if fmt.Sprint(oks) != fmt.Sprint(want) {
		for i := range oks {
			if oks[i] != want[i] {
				t.Fatalf("outcome %d (microtask %d) is %v, want %v", i, ps[i].ID, oks[i], want[i])
			}
		}
	}
	var outs []task.Item
	tx(t, s, func(tx store.Tx) error {
		var err error
		outs, err = tx.TaskOutputs(ctx, "j", []int{0})
		return err
	})
	got := map[string]bool{}
	for _, it := range outs {
		got[it.ID] = true
	}
	if len(outs) != len(wantOut) || len(got) != len(wantOut) {
		t.Fatalf("%d outputs (%d distinct), want %d", len(outs), len(got), len(wantOut))
	}
	for id := range wantOut {
		if !got[id] {
			t.Fatalf("output %s missing", id)
		}
	}
	c := counts(t, s, "j")[0]
	if c.Done != int64(len(wantOut)) || c.Running != int64(n-len(wantOut)) {
		t.Fatalf("counts %+v, want %d done and %d running", c, len(wantOut), n-len(wantOut))
	}
}

// testFinishDoneStates: the one-statement commit checks the state as
// well as the token (a ready microtask carries token 0, which its fence
// also is), clears an earlier attempt's error, records the finish time,
// and refuses any state but Done.
func testFinishDoneStates(t *testing.T, s store.Store) {
	ctx := context.Background()
	insertJob(t, s, job("j", 1), items("a"), items("b"), items("c"))
	a := claim(t, s, "j", 0, 1, "w")[0]
	if !finish(t, s, &store.TaskFinishParams{ID: a.ID, Token: a.Token, State: task.Failed, Error: "boom", NotBefore: t0}) {
		t.Fatal("failing a refused")
	}
	tx(t, s, func(tx store.Tx) error {
		_, _, err := tx.TaskWake(ctx, t0)
		return err
	})
	a = claim(t, s, "j", 0, 1, "w2")[0] // a's second attempt
	var ready int64                     // b or c, whichever was not claimed
	b := claim(t, s, "j", 0, 1, "w")[0]
	for _, l := range taskList(t, s, "j") {
		if l.State == task.Ready {
			ready = l.ID
		}
	}
	at := t0.Add(time.Minute)
	oks, supported := finishDone(t, s, []*store.TaskFinishParams{
		{ID: ready, Token: 0, State: task.Done, Output: items("never leased"), Now: at},
		{ID: a.ID, Token: a.Token, State: task.Done, Output: items("a2"), Now: at, Runtime: 3 * time.Millisecond},
		{ID: b.ID, Token: b.Token, State: task.Done, Now: at},
	})
	if !supported {
		t.Skip("this driver commits results one statement each (store.TxFinisher is optional)")
	}
	if fmt.Sprint(oks) != "[false true true]" {
		t.Fatalf("outcomes %v, want [false true true]", oks)
	}
	for _, l := range taskList(t, s, "j") {
		switch l.ID {
		case a.ID, b.ID:
			if l.State != task.Done || l.Error != "" || l.FinishedAt == nil || !l.FinishedAt.Equal(at) {
				t.Fatalf("microtask %d after the batch: state %v, error %q, finished %v; want done at %v, no error", l.ID, l.State, l.Error, l.FinishedAt, at)
			}
		case ready:
			if l.State != task.Ready || l.FinishedAt != nil {
				t.Fatalf("the never-leased microtask %d was changed: %+v", l.ID, l)
			}
		}
	}
	err := s.InTx(ctx, func(tx store.Tx) error {
		bf := tx.(store.TxFinisher)
		_, err := bf.TaskFinishDone(ctx, []*store.TaskFinishParams{{ID: ready, Token: 0, State: task.Failed}})
		return err
	})
	if err == nil {
		t.Fatal("TaskFinishDone accepted a Failed completion")
	}
}

func taskList(t *testing.T, s store.Store, jobID string) []*task.Microtask {
	t.Helper()
	l, err := s.TaskList(context.Background(), &store.TaskListParams{JobID: jobID})
	if err != nil {
		t.Fatal(err)
	}
	return l
}
