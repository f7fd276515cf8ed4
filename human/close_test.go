package human_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/human/sim"
	"github.com/myriadhq/myriad/task"
)

// Once the people are done the stage and its job end at once: the job
// is completed well within 3 s of the last answer, with the default undo
// window (10 s, which the stage used to wait out) and a sweep tick that
// never comes (closing a stage is not left to the tick). The last answer
// is not offered for undo, and an undo of it is refused: its stage has
// closed.
func TestStageEndsAtOnceAfterLastAnswer(t *testing.T) {
	t.Parallel()
	b := setup(t, human.Config{UndoWindow: human.DefaultUndoWindow, SweepEvery: time.Hour}, "")
	toks := b.annotators(t, "d", 1)
	a := sim.NewClient(b.url, toks[0], nil)
	id := submit(t, b.c, humanJob("at-once", textItems(3, "item"), map[string]any{"labels": binary, "k": 1}))
	b.waitStage(t, id)
	ctx := ctxT(t, time.Minute)
	r, err := a.Next(ctx, api.NextRequest{Want: 3})
	if err != nil || len(r.Tasks) != 3 {
		t.Fatalf("next: %+v %v", r, err)
	}
	for i, tk := range r.Tasks {
		resp, err := a.Answer(ctx, tk.ID, api.AnswerRequest{Label: "yes"})
		if err != nil {
			t.Fatalf("answer task %d: %v", tk.ID, err)
		}
		// The app offers to undo an answer only with undo_until; the
		// answer that completes the stage closes it, so has none.
		if closes := i == len(r.Tasks)-1; (resp.UndoUntil == nil) != closes {
			t.Fatalf("answer %d of %d: undo until %v", i+1, len(r.Tasks), resp.UndoUntil)
		}
	}
	last := time.Now()
	waitCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	st, err := b.c.Wait(waitCtx, id, nil)
	if err != nil {
		t.Fatalf("the job had not ended %v after the last answer: %v", time.Since(last).Round(time.Millisecond), err)
	}
	t.Logf("the job ended %v after the last answer", time.Since(last).Round(time.Millisecond))
	if st.State != task.JobCompleted || len(st.Human) != 1 || st.Human[0].State != "reported" {
		t.Fatalf("job %s, human stages %+v", st.State, st.Human)
	}
	if _, err := a.Undo(ctx, r.Tasks[2].ID); sim.Status(err) != http.StatusConflict {
		t.Fatalf("undo after the stage closed: %v, want 409", err)
	}
	for _, l := range results(t, b.c, id) {
		if l.Label == nil || *l.Label != "yes" || l.Source != human.SourceHuman {
			t.Errorf("item %s: %+v", l.ID, l)
		}
	}
}

// A stage closes only when all its items are settled, even one settled
// earlier and then reopened: an item answered, looked at for closing,
// then undone (leased again) keeps the stage open after the other item
// is answered, and its answer still counts.
func TestUndoneItemKeepsStageOpen(t *testing.T) {
	t.Parallel()
	b := setup(t, human.Config{UndoWindow: human.DefaultUndoWindow, SweepEvery: time.Hour}, "")
	toks := b.annotators(t, "u", 1)
	a := sim.NewClient(b.url, toks[0], nil)
	id := submit(t, b.c, humanJob("reopen", textItems(2, "item"), map[string]any{"labels": binary, "k": 1}))
	b.waitStage(t, id)
	ctx := ctxT(t, time.Minute)
	r, err := a.Next(ctx, api.NextRequest{Want: 2})
	if err != nil || len(r.Tasks) != 2 {
		t.Fatalf("next: %+v %v", r, err)
	}
	first, second := r.Tasks[0], r.Tasks[1]
	h := b.srv.Human()
	if _, err := a.Answer(ctx, first.ID, api.AnswerRequest{Label: "yes"}); err != nil {
		t.Fatal(err)
	}
	if err := h.Sweep(ctx); err != nil { // looks at the stage with the first item settled
		t.Fatal(err)
	}
	if _, err := a.Undo(ctx, first.ID); err != nil {
		t.Fatalf("undo: %v", err)
	}
	if _, err := a.Answer(ctx, second.ID, api.AnswerRequest{Label: "no"}); err != nil {
		t.Fatal(err)
	}
	if err := h.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Answer(ctx, first.ID, api.AnswerRequest{Label: "no"}); err != nil {
		t.Fatalf("answer the undone item again: %v (the stage closed with it leased?)", err)
	}
	st, err := b.c.Wait(ctx, id, nil)
	if err != nil || st.State != task.JobCompleted {
		t.Fatalf("job: %+v %v", st, err)
	}
	for _, l := range results(t, b.c, id) {
		if l.Label == nil || *l.Label != "no" {
			t.Errorf("item %s: %+v, want the answers given last", l.ID, l)
		}
	}
}
