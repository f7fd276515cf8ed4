package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/myriadhq/myriad/store"
)

// RunHuman runs the conformance suite of store.HumanStore. newStore
// returns an empty store that implements it.
func RunHuman(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.HumanStore)
	}{
		{"Annotators", testAnnotators},
		{"Stages", testHumanStages},
		{"ItemsAndLeases", testHumanLeases},
		{"AssignmentMoves", testAssignmentMoves},
		{"Rollback", testHumanRollback},
		{"ConcurrentLeases", testConcurrentLeases},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			hs, ok := s.(store.HumanStore)
			if !ok {
				t.Fatalf("%T does not implement store.HumanStore", s)
			}
			tc.fn(t, hs)
		})
	}
}

func htx(t *testing.T, s store.HumanStore, fn func(tx store.HumanTx) error) {
	t.Helper()
	if err := s.HumanInTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func testAnnotators(t *testing.T, s store.HumanStore) {
	ctx := context.Background()
	bob := &store.Annotator{ID: "a2", Name: "bob", TokenHash: []byte{2, 2}, Labels: map[string]string{"lang": "fr"}, CreatedAt: t0}
	htx(t, s, func(tx store.HumanTx) error {
		if err := tx.AnnotatorInsert(ctx, bob); err != nil {
			return err
		}
		return tx.AnnotatorInsert(ctx, &store.Annotator{ID: "a1", Name: "alice", TokenHash: []byte{1, 1}, CreatedAt: t0})
	})
	for _, dup := range []*store.Annotator{
		{ID: "a3", Name: "bob", TokenHash: []byte{3}, CreatedAt: t0},
		{ID: "a4", Name: "carol", TokenHash: []byte{1, 1}, CreatedAt: t0},
	} {
		err := s.HumanInTx(ctx, func(tx store.HumanTx) error { return tx.AnnotatorInsert(ctx, dup) })
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("insert %s: got %v, want ErrConflict", dup.Name, err)
		}
	}
	bob.Paused, bob.Reason = true, "spam"
	htx(t, s, func(tx store.HumanTx) error { return tx.AnnotatorUpdate(ctx, bob) })
	err := s.HumanInTx(ctx, func(tx store.HumanTx) error { return tx.AnnotatorUpdate(ctx, &store.Annotator{ID: "nope"}) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update missing: got %v, want ErrNotFound", err)
	}
	list, err := s.AnnotatorList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "alice" || list[1].Name != "bob" {
		t.Fatalf("list: %+v", list)
	}
	b := list[1]
	if b.ID != "a2" || !bytes.Equal(b.TokenHash, []byte{2, 2}) || b.Labels["lang"] != "fr" || !b.Paused || b.Reason != "spam" || !b.CreatedAt.Equal(t0) {
		t.Fatalf("bob: %+v", b)
	}
	if list[0].Labels != nil || list[0].Paused {
		t.Fatalf("alice: %+v", list[0])
	}
}

func testHumanStages(t *testing.T, s store.HumanStore) {
	ctx := context.Background()
	a := &store.HumanStage{JobID: "j1", Stage: 1, TaskID: 7, Token: 1, CreatedAt: t0, Info: json.RawMessage(`{"title":"t"}`)}
	b := &store.HumanStage{JobID: "j2", Stage: 0, TaskID: 9, Token: 3, CreatedAt: t0.Add(time.Second)}
	htx(t, s, func(tx store.HumanTx) error {
		if err := tx.HumanStageInsert(ctx, a); err != nil {
			return err
		}
		return tx.HumanStageInsert(ctx, b)
	})
	err := s.HumanInTx(ctx, func(tx store.HumanTx) error {
		return tx.HumanStageInsert(ctx, &store.HumanStage{JobID: "j1", Stage: 1, CreatedAt: t0})
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate stage: got %v, want ErrConflict", err)
	}
	b.State, b.Output, b.FinishedAt, b.Token = store.HumanReported, json.RawMessage(`[{"id":"x"}]`), t0.Add(time.Hour), 4
	htx(t, s, func(tx store.HumanTx) error { return tx.HumanStageUpdate(ctx, b) })
	err = s.HumanInTx(ctx, func(tx store.HumanTx) error { return tx.HumanStageUpdate(ctx, &store.HumanStage{JobID: "nope"}) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update missing stage: got %v, want ErrNotFound", err)
	}
	all, err := s.HumanStageList(ctx, false)
	if err != nil || len(all) != 2 {
		t.Fatalf("all stages: %+v %v", all, err)
	}
	got := all[1]
	if got.JobID != "j2" || got.Token != 4 || got.State != store.HumanReported || string(got.Output) != `[{"id":"x"}]` || !got.FinishedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("stage j2: %+v", got)
	}
	if all[0].Output != nil || !all[0].FinishedAt.IsZero() || all[0].TaskID != 7 || string(all[0].Info) != `{"title":"t"}` {
		t.Fatalf("stage j1: %+v", all[0])
	}
	active, err := s.HumanStageList(ctx, true)
	if err != nil || len(active) != 1 || active[0].JobID != "j1" {
		t.Fatalf("active stages: %+v %v", active, err)
	}
}

func humanItems(t *testing.T, s store.HumanStore, n int) []*store.HumanItem {
	t.Helper()
	var items []*store.HumanItem
	for i := range n {
		items = append(items, &store.HumanItem{JobID: "j", Stage: 2, Seq: i, ItemID: fmt.Sprint("it", i), Data: json.RawMessage(`{"text":"x"}`)})
	}
	htx(t, s, func(tx store.HumanTx) error { return tx.HumanItemInsert(context.Background(), items) })
	return items
}

func lease(s store.HumanStore, item int64, who string, max int) (int64, error) {
	var id int64
	err := s.HumanInTx(context.Background(), func(tx store.HumanTx) error {
		var err error
		id, err = tx.HumanLease(context.Background(), &store.HumanLeaseParams{Item: item, Annotator: who, MaxLeased: max, IssuedAt: t0, ExpiresAt: t0.Add(time.Minute)})
		if errors.Is(err, store.ErrConflict) {
			return nil // keep the transaction; report through id == 0
		}
		return err
	})
	if err == nil && id == 0 {
		err = store.ErrConflict
	}
	return id, err
}

func testHumanLeases(t *testing.T, s store.HumanStore) {
	ctx := context.Background()
	items := humanItems(t, s, 2)
	items = append(items, &store.HumanItem{JobID: "j", Stage: 2, Seq: 2, ItemID: "g", Kind: store.HumanGold, Gold: "cat",
		ModelLabel: "dog", ModelProb: 0.25, HasModel: true, Data: json.RawMessage(`"hi"`)})
	htx(t, s, func(tx store.HumanTx) error { return tx.HumanItemInsert(ctx, items[2:]) })
	if items[0].ID == 0 || items[1].ID <= items[0].ID || items[2].ID <= items[1].ID {
		t.Fatalf("ids not set in order: %d %d %d", items[0].ID, items[1].ID, items[2].ID)
	}
	it := items[0].ID
	a1, err := lease(s, it, "ann1", 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lease(s, it, "ann1", 5); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("same annotator twice: got %v, want ErrConflict", err)
	}
	if _, err := lease(s, it, "ann2", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := lease(s, it, "ann3", 2); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("third lease with MaxLeased 2: got %v, want ErrConflict", err)
	}
	htx(t, s, func(tx store.HumanTx) error { return tx.HumanItemSetState(ctx, items[1].ID, store.HumanItemStopped) })
	if _, err := lease(s, items[1].ID, "ann1", 9); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stopped item: got %v, want ErrConflict", err)
	}
	got, err := s.HumanItemList(ctx, "j", 2)
	if err != nil || len(got) != 3 {
		t.Fatalf("items: %+v %v", got, err)
	}
	if got[0].Leased != 2 || got[0].Answers != 0 || got[0].ItemID != "it0" || string(got[0].Data) != `{"text":"x"}` || got[0].HasModel {
		t.Fatalf("item 0: %+v", got[0])
	}
	if got[1].State != store.HumanItemStopped || got[1].Leased != 0 {
		t.Fatalf("item 1: %+v", got[1])
	}
	g := got[2]
	if g.Kind != store.HumanGold || g.Gold != "cat" || !g.HasModel || g.ModelLabel != "dog" || g.ModelProb != 0.25 || g.Seq != 2 {
		t.Fatalf("gold item: %+v", g)
	}
	if other, err := s.HumanItemList(ctx, "j", 3); err != nil || len(other) != 0 {
		t.Fatalf("another stage's items: %+v %v", other, err)
	}
	as, err := s.HumanAssignmentList(ctx, "j", 2)
	if err != nil || len(as) != 2 {
		t.Fatalf("assignments: %+v %v", as, err)
	}
	if as[0].ID != a1 || as[0].Annotator != "ann1" || as[0].Item != it || as[0].State != store.AssignLeased ||
		!as[0].IssuedAt.Equal(t0) || !as[0].ExpiresAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("assignment: %+v", as[0])
	}
}

func move(t *testing.T, s store.HumanStore, p *store.HumanMoveParams) bool {
	t.Helper()
	var ok bool
	htx(t, s, func(tx store.HumanTx) error {
		var err error
		ok, err = tx.HumanAssignmentMove(context.Background(), p)
		return err
	})
	return ok
}

func itemCounts(t *testing.T, s store.HumanStore, id int64) (answers, leased int) {
	t.Helper()
	items, err := s.HumanItemList(context.Background(), "j", 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.ID == id {
			return it.Answers, it.Leased
		}
	}
	t.Fatalf("item %d not found", id)
	return 0, 0
}

func testAssignmentMoves(t *testing.T, s store.HumanStore) {
	items := humanItems(t, s, 1)
	it := items[0].ID
	a, _ := lease(s, it, "ann1", 3)
	b, _ := lease(s, it, "ann2", 3)
	c, _ := lease(s, it, "ann3", 3)
	at := t0.Add(5 * time.Second)
	if move(t, s, &store.HumanMoveParams{ID: a, Annotator: "ann2", From: store.AssignLeased, To: store.AssignAnswered, Label: "x", At: at}) {
		t.Fatal("another annotator moved ann1's assignment")
	}
	if move(t, s, &store.HumanMoveParams{ID: a, Annotator: "ann1", From: store.AssignAnswered, To: store.AssignLeased}) {
		t.Fatal("moved from a state the assignment is not in")
	}
	if !move(t, s, &store.HumanMoveParams{ID: a, Annotator: "ann1", From: store.AssignLeased, To: store.AssignAnswered, Label: "cat", At: at, MS: 1200}) {
		t.Fatal("answer refused")
	}
	if n, l := itemCounts(t, s, it); n != 1 || l != 2 {
		t.Fatalf("after an answer: answers %d leased %d, want 1 2", n, l)
	}
	if !move(t, s, &store.HumanMoveParams{ID: b, Annotator: "ann2", From: store.AssignLeased, To: store.AssignSkipped}) {
		t.Fatal("skip refused")
	}
	if !move(t, s, &store.HumanMoveParams{ID: c, Annotator: "ann3", From: store.AssignLeased, To: store.AssignExpired}) {
		t.Fatal("expiry refused")
	}
	if n, l := itemCounts(t, s, it); n != 1 || l != 0 {
		t.Fatalf("after skip and expiry: answers %d leased %d, want 1 0", n, l)
	}
	// A late answer to an expired lease, then an undo of ann1's answer.
	if !move(t, s, &store.HumanMoveParams{ID: c, Annotator: "ann3", From: store.AssignExpired, To: store.AssignAnswered, Label: "dog", At: at}) {
		t.Fatal("late answer refused")
	}
	until := t0.Add(time.Hour)
	if !move(t, s, &store.HumanMoveParams{ID: a, Annotator: "ann1", From: store.AssignAnswered, To: store.AssignLeased, ExpiresAt: until}) {
		t.Fatal("undo refused")
	}
	if n, l := itemCounts(t, s, it); n != 1 || l != 1 {
		t.Fatalf("after late answer and undo: answers %d leased %d, want 1 1", n, l)
	}
	as, err := s.HumanAssignmentList(context.Background(), "j", 2)
	if err != nil || len(as) != 3 {
		t.Fatalf("assignments: %+v %v", as, err)
	}
	if as[0].State != store.AssignLeased || as[0].Label != "" || !as[0].AnsweredAt.IsZero() || as[0].MS != 0 || !as[0].ExpiresAt.Equal(until) {
		t.Fatalf("undone assignment: %+v", as[0])
	}
	if as[1].State != store.AssignSkipped || as[2].State != store.AssignAnswered || as[2].Label != "dog" || !as[2].AnsweredAt.Equal(at) {
		t.Fatalf("assignments: %+v %+v", as[1], as[2])
	}
}

func testHumanRollback(t *testing.T, s store.HumanStore) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.HumanInTx(ctx, func(tx store.HumanTx) error {
		if err := tx.AnnotatorInsert(ctx, &store.Annotator{ID: "a", Name: "a", TokenHash: []byte{1}, CreatedAt: t0}); err != nil {
			return err
		}
		if err := tx.HumanItemInsert(ctx, []*store.HumanItem{{JobID: "j", Stage: 2, ItemID: "x", Data: json.RawMessage(`1`)}}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the function's error", err)
	}
	if list, _ := s.AnnotatorList(ctx); len(list) != 0 {
		t.Fatal("annotator survived a rolled-back transaction")
	}
	if items, _ := s.HumanItemList(ctx, "j", 2); len(items) != 0 {
		t.Fatal("item survived a rolled-back transaction")
	}
}

// testConcurrentLeases: annotators racing for few items never push an
// item past MaxLeased nor get one item twice.
func testConcurrentLeases(t *testing.T, s store.HumanStore) {
	const items, max, annotators = 10, 3, 12
	list := humanItems(t, s, items)
	var wg sync.WaitGroup
	for a := range annotators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, it := range list {
				for range 2 { // the second try must always conflict
					if _, err := lease(s, it.ID, fmt.Sprint("ann", a), max); err != nil && !errors.Is(err, store.ErrConflict) {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	as, err := s.HumanAssignmentList(context.Background(), "j", 2)
	if err != nil {
		t.Fatal(err)
	}
	per := map[int64]map[string]bool{}
	for _, a := range as {
		if per[a.Item] == nil {
			per[a.Item] = map[string]bool{}
		}
		if per[a.Item][a.Annotator] {
			t.Fatalf("item %d leased twice to %s", a.Item, a.Annotator)
		}
		per[a.Item][a.Annotator] = true
	}
	for _, it := range list {
		if n := len(per[it.ID]); n != max {
			t.Errorf("item %d: %d leases, want exactly %d", it.ID, n, max)
		}
	}
	got, _ := s.HumanItemList(context.Background(), "j", 2)
	for _, it := range got {
		if it.Leased != max {
			t.Errorf("item %d: leased counter %d, want %d", it.ID, it.Leased, max)
		}
	}
}
