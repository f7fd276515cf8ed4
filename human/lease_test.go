package human_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/crowd"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/human/sim"
	"github.com/myriadhq/myriad/task"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Leases run out and their items go to someone else; a late answer to an
// item that was re-issued is refused; an answer can be undone only within
// the undo window; a skipped item goes to someone else.
func TestLeasesUndoSkip(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()}
	b := setup(t, human.Config{Clock: clock, UndoWindow: 10 * time.Second, SweepEvery: time.Hour}, "")
	toks := b.annotators(t, "l", 3)
	a, bb, c := sim.NewClient(b.url, toks[0], nil), sim.NewClient(b.url, toks[1], nil), sim.NewClient(b.url, toks[2], nil)
	id := submit(t, b.c, humanJob("leases", textItems(2, "item"), map[string]any{"labels": binary, "k": 1, "lease": "1m"}))
	b.waitStage(t, id)
	ctx := context.Background()
	ra, err := a.Next(ctx, api.NextRequest{Want: 2})
	if err != nil || len(ra.Tasks) != 2 {
		t.Fatalf("a: %+v %v", ra, err)
	}
	if rb, _ := bb.Next(ctx, api.NextRequest{Want: 2}); len(rb.Tasks) != 0 || rb.Reason != human.ReasonNoWork {
		t.Fatalf("b got %+v while a holds both items", rb)
	}
	// Reloading the page gives a its same items back, no new ones.
	if again, _ := a.Next(ctx, api.NextRequest{Want: 2}); len(again.Tasks) != 2 || again.Tasks[0].ID != ra.Tasks[0].ID {
		t.Fatalf("a asked again: %+v", again)
	}
	clock.add(2 * time.Minute)
	if err := b.srv.Human().Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	rb, err := bb.Next(ctx, api.NextRequest{Want: 2})
	if err != nil || len(rb.Tasks) != 2 {
		t.Fatalf("after a's leases expired, b got %+v %v", rb, err)
	}
	if _, err := a.Answer(ctx, ra.Tasks[0].ID, api.AnswerRequest{Label: "yes"}); sim.Status(err) != http.StatusConflict {
		t.Fatalf("late answer to a re-issued item: %v, want 409", err)
	}
	first, second := rb.Tasks[0], rb.Tasks[1]
	resp, err := bb.Answer(ctx, first.ID, api.AnswerRequest{Label: "yes"})
	if err != nil || resp.UndoUntil == nil {
		t.Fatalf("answer: %+v %v", resp, err)
	}
	if resp, err = bb.Undo(ctx, first.ID); err != nil || len(resp.Tasks) != 2 || resp.Tasks[0].ID != first.ID {
		t.Fatalf("undo: %+v %v", resp, err)
	}
	if _, err := bb.Answer(ctx, first.ID, api.AnswerRequest{Label: "no"}); err != nil {
		t.Fatal(err)
	}
	clock.add(11 * time.Second)
	if _, err := bb.Undo(ctx, first.ID); sim.Status(err) != http.StatusConflict {
		t.Fatalf("undo after the window: %v, want 409", err)
	}
	if _, err := bb.Answer(ctx, second.ID, api.AnswerRequest{Label: "maybe"}); sim.Status(err) != http.StatusBadRequest {
		t.Fatalf("answer outside the label set: %v, want 400", err)
	}
	if resp, err = bb.Skip(ctx, second.ID, 1); err != nil || len(resp.Tasks) != 0 {
		t.Fatalf("skip: %+v %v", resp, err)
	}
	// a held the skipped item once: it goes to c, who never saw it.
	if ra, _ := a.Next(ctx, api.NextRequest{}); len(ra.Tasks) != 0 {
		t.Fatalf("a got an item it held before: %+v", ra)
	}
	rc, err := c.Next(ctx, api.NextRequest{})
	if err != nil || len(rc.Tasks) != 1 || rc.Tasks[0].Display.Text != second.Display.Text {
		t.Fatalf("c: %+v %v", rc, err)
	}
	if _, err := c.Answer(ctx, rc.Tasks[0].ID, api.AnswerRequest{Label: "yes"}); err != nil {
		t.Fatal(err)
	}
	clock.add(11 * time.Second)
	if err := b.srv.Human().Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if st := wait(t, b.c, id); st.State != task.JobCompleted {
		t.Fatalf("job %s", st.State)
	}
	// b's kept answer labels its first item, c's the skipped one, whichever
	// of the two items b was handed first.
	res := results(t, b.c, id)
	want := map[string]string{first.Display.Text: "no", second.Display.Text: "yes"}
	if len(res) != 2 {
		t.Fatalf("results: %+v", res)
	}
	for _, r := range res {
		if r.Label == nil || *r.Label != want[r.Text] {
			t.Fatalf("results: %+v, want %v", res, want)
		}
	}
}

// A coordinator restart mid-collection loses no answer: annotators keep
// their tokens, items keep their answers, and the job completes with
// every item's k answers.
func TestRestartKeepsAnswers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := setup(t, human.Config{}, dir)
	toks := b.annotators(t, "r", 4)
	const n, k = 12, 2
	id := submit(t, b.c, humanJob("restart", textItems(n, "item"), map[string]any{"labels": binary, "k": k}))
	b.waitStage(t, id)
	ctx := context.Background()
	cl := sim.NewClient(b.url, toks[0], nil)
	resp, err := cl.Next(ctx, api.NextRequest{Want: 1})
	for i := 0; i < 5 && err == nil && len(resp.Tasks) > 0; i++ {
		resp, err = cl.Answer(ctx, resp.Tasks[0].ID, api.AnswerRequest{Label: "yes", Next: 1})
	}
	if err != nil {
		t.Fatal(err)
	}
	b.stop()

	b = setup(t, human.Config{}, dir)
	s, _ := crowd.NewSimulator(1, binary)
	c := &sim.Crowd{URL: b.url, Token: b.srv.AdminToken(), Job: id, Members: members(toks, func(int) crowd.Annotator { return crowd.Annotator{Accuracy: 1} }),
		Answer: sim.Modelled(s, truthByText(yesNo))}
	rep, err := c.Run(ctxT(t, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if st := wait(t, b.c, id); st.State != task.JobCompleted {
		t.Fatalf("job %s", st.State)
	}
	if rep.Answers+5 != n*k {
		t.Errorf("%d answers after the restart, 5 before: want %d in all", rep.Answers, n*k)
	}
	for _, r := range results(t, b.c, id) {
		if r.Answers != k || r.Source != human.SourceHuman {
			t.Errorf("item %s: %+v", r.ID, r)
		}
	}
}
