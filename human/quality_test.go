package human_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/crowd"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/human/sim"
	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// goldItems makes gold questions shown like the job's items ("item
// <number>") so they cannot be told apart.
func goldItems(n, from int) []any {
	out := make([]any, n)
	for i := range n {
		out[i] = map[string]any{"id": fmt.Sprint("g", i), "data": map[string]any{"text": fmt.Sprintf("item %03d", from+i)}, "answer": yesNo(from + i)}
	}
	return out
}

// Constant spammers are caught by gold questions: they are paused, their
// answers are excluded and the items they answered get other answers, so
// the labels stay right. The annotator listing shows who was paused and
// everyone's gold accuracy.
func TestGoldPausesSpammers(t *testing.T) {
	t.Parallel()
	b := setup(t, human.Config{}, "")
	honest := b.annotators(t, "honest", 6)
	spam := b.annotators(t, "spammer", 3)
	const n = 60
	id := submit(t, b.c, humanJob("gold", textItems(n, "item"), map[string]any{
		"labels": binary, "k": 3,
		"gold": map[string]any{"items": goldItems(12, 500), "rate": 0.3, "min_answers": 3, "min_accuracy": 0.7},
	}))
	s, _ := crowd.NewSimulator(3, binary)
	ms := members(honest, func(int) crowd.Annotator { return crowd.Annotator{Accuracy: 0.95} })
	ms = append(ms, members(spam, func(int) crowd.Annotator {
		return crowd.Annotator{Spam: crowd.SpamConstant, SpamLabel: "yes"} // wrong on every "no" item
	})...)
	for i := range ms {
		ms[i].Annotator.ID = fmt.Sprint("m", i)
	}
	c := &sim.Crowd{URL: b.url, Token: b.srv.AdminToken(), Job: id, Members: ms, Answer: sim.Modelled(s, truthByText(yesNo))}
	if _, err := c.Run(ctxT(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	if st := wait(t, b.c, id); st.State != task.JobCompleted {
		t.Fatalf("job %s", st.State)
	}
	wrong := 0
	for i, r := range results(t, b.c, id) {
		if r.Label == nil || *r.Label != yesNo(i) {
			wrong++
		}
	}
	if wrong > 2 {
		t.Errorf("%d of %d labels wrong", wrong, n)
	}
	anns, err := b.c.Annotators(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range anns {
		isSpam := a.Name[:3] == "spa"
		if a.GoldAnswers == 0 || a.GoldAccuracy == nil {
			if isSpam {
				t.Errorf("%s answered no gold question", a.Name)
			}
			continue
		}
		if isSpam && *a.GoldAccuracy >= 0.7 {
			t.Errorf("spammer %s has gold accuracy %.2f", a.Name, *a.GoldAccuracy)
		}
		if !isSpam && *a.GoldAccuracy < 0.7 {
			t.Errorf("honest %s has gold accuracy %.2f", a.Name, *a.GoldAccuracy)
		}
	}
	// Every item ended with three answers that count: a spammer's excluded
	// answer was replaced.
	items, asgs := b.assignments(t, id, 0)
	spamIDs := map[string]bool{}
	for _, a := range anns {
		if a.Name[:3] == "spa" && a.GoldAnswers >= 3 {
			spamIDs[a.ID] = true
		}
	}
	kinds := map[int64]store.HumanItemKind{}
	for _, it := range items {
		kinds[it.ID] = it.Kind
	}
	counted := map[int64]int{}
	for _, a := range asgs {
		if a.State == store.AssignAnswered && !spamIDs[a.Annotator] && kinds[a.Item] == store.HumanTask {
			counted[a.Item]++
		}
	}
	for _, it := range items {
		if it.Kind == store.HumanTask && counted[it.ID] < 3 {
			t.Errorf("item %s has %d answers from annotators in good standing, want 3", it.ItemID, counted[it.ID])
		}
	}
}

// An annotator who fails the qualification test gets no real work; one
// who passes it does. The test is served before anything else.
func TestQualification(t *testing.T) {
	t.Parallel()
	b := setup(t, human.Config{}, "")
	toks := b.annotators(t, "q", 2)
	quals := []any{
		map[string]any{"id": "q1", "data": map[string]any{"text": "test 001"}, "answer": "yes"},
		map[string]any{"id": "q2", "data": map[string]any{"text": "test 002"}, "answer": "no"},
	}
	id := submit(t, b.c, humanJob("qual", textItems(5, "item"), map[string]any{
		"labels": binary, "k": 1, "qualification": map[string]any{"items": quals, "min_accuracy": 1},
	}))
	b.waitStage(t, id)
	ctx := context.Background()
	answerAll := func(cl *sim.Client, right bool) *api.TasksResponse {
		resp, err := cl.Next(ctx, api.NextRequest{})
		for i := 0; err == nil && len(resp.Tasks) > 0 && resp.Tasks[0].Qualification; i++ {
			tk := resp.Tasks[0]
			want := map[string]string{"test 001": "yes", "test 002": "no"}[tk.Display.Text]
			if !right {
				want = map[string]string{"yes": "no", "no": "yes"}[want]
			}
			resp, err = cl.Answer(ctx, tk.ID, api.AnswerRequest{Label: want, Next: 1})
		}
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	bad := answerAll(sim.NewClient(b.url, toks[0], nil), false)
	if len(bad.Tasks) != 0 || bad.Reason != human.ReasonNotQualified {
		t.Fatalf("after failing the test: %d tasks, reason %q", len(bad.Tasks), bad.Reason)
	}
	good := answerAll(sim.NewClient(b.url, toks[1], nil), true)
	if len(good.Tasks) != 1 || good.Tasks[0].Qualification {
		t.Fatalf("after passing the test: %+v", good)
	}
	if q := good.Progress.Qualification; q == nil || q.Result != "passed" || q.Answered != 2 {
		t.Fatalf("qualification progress: %+v", q)
	}
}

// Issuing stops when the budget cannot pay another answer: the stage
// ends with what it has, the unlabelled items say so, and the spending
// never passes the cap.
func TestBudgetStopsIssuing(t *testing.T) {
	t.Parallel()
	b := setup(t, human.Config{}, "")
	toks := b.annotators(t, "b", 4)
	const n = 20
	// 0.1 per answer, 2.5 in all: 25 answers, at least 9 items' worth.
	id := submit(t, b.c, humanJob("budget", textItems(n, "item"), map[string]any{
		"labels": binary, "k": 3, "reward": 0.1, "budget": 2.5, "currency": "USD",
	}))
	s, _ := crowd.NewSimulator(1, binary)
	c := &sim.Crowd{URL: b.url, Token: b.srv.AdminToken(), Job: id, Members: members(toks, func(int) crowd.Annotator { return crowd.Annotator{Accuracy: 1} }),
		Answer: sim.Modelled(s, truthByText(yesNo))}
	rep, err := c.Run(ctxT(t, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	st := wait(t, b.c, id)
	if st.State != task.JobCompleted {
		t.Fatalf("job %s", st.State)
	}
	if rep.Answers != 25 {
		t.Errorf("%d answers paid, want 25 (the budget's worth)", rep.Answers)
	}
	h := st.Human[0]
	if !h.Exhausted || h.Spent > 2.5+1e-9 || h.Remaining == nil || *h.Remaining < -1e-9 || *h.Remaining > 0.1 {
		t.Errorf("budget status: %+v (remaining %v)", h, h.Remaining)
	}
	none, human3 := 0, 0
	for _, r := range results(t, b.c, id) {
		switch {
		case r.Source == human.SourceNone && r.Label == nil:
			none++
		case r.Source == human.SourceHuman:
			human3++
		}
	}
	if human3 < 9 || human3+none != n {
		t.Errorf("%d items labelled by people, %d without answers, of %d", human3, none, n)
	}
}

// A bad human stage is refused at submit with every problem named.
func TestBadParams(t *testing.T) {
	t.Parallel()
	b := setup(t, human.Config{}, "")
	_, err := b.c.Submit(context.Background(), humanJob("bad", textItems(2, "x"), map[string]any{
		"labels": []any{"a", "a"}, "k": 0, "k_max": 500, "threshold": 2, "bogus": 1,
	}))
	if err == nil {
		t.Fatal("a bad human stage was accepted")
	}
	if got := err.Error(); !contains(got, `stages[0].params`) || !contains(got, "bogus") {
		t.Fatalf("error does not name the field: %s", got)
	}
	_, err = b.c.Submit(context.Background(), humanJob("bad2", textItems(2, "x"), map[string]any{
		"labels": []any{"a", "a"}, "k_max": 500, "threshold": 2,
	}))
	for _, want := range []string{"stages[0].params.labels[1]", "stages[0].params.k_max", "stages[0].params.threshold"} {
		if err == nil || !contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// Gold questions are served balanced by their known answer: an annotator
// who has been asked the "yes" gold questions gets a "no" one next, so a
// spammer who always answers one label cannot ride a run of gold questions
// that happen to share it. Here 3 of 33 gold questions are "no"; drawn
// uniformly, six questions would almost never include all three.
func TestGoldBalancedByAnswer(t *testing.T) {
	t.Parallel()
	b := setup(t, human.Config{}, "")
	tok := b.annotators(t, "g", 1)[0]
	gold := make([]any, 0, 33)
	for i := range 33 {
		ans := "yes"
		if i%11 == 10 {
			ans = "no"
		}
		gold = append(gold, map[string]any{"id": fmt.Sprint("g", i), "data": map[string]any{"text": fmt.Sprintf("gold %03d", i)}, "answer": ans})
	}
	id := submit(t, b.c, humanJob("goldbal", textItems(100, "item"), map[string]any{
		"labels": binary, "k": 1, "gold": map[string]any{"items": gold, "rate": 0.99},
	}))
	b.waitStage(t, id)
	ctx := context.Background()
	cl := sim.NewClient(b.url, tok, nil)
	goldAsked := func() (yes, no int) {
		items, asgs := b.assignments(t, id, 0)
		byID := map[int64]*store.HumanItem{}
		for _, it := range items {
			byID[it.ID] = it
		}
		for _, a := range asgs {
			if it := byID[a.Item]; it.Kind == store.HumanGold {
				if it.Gold == "no" {
					no++
				} else {
					yes++
				}
			}
		}
		return yes, no
	}
	resp, err := cl.Next(ctx, api.NextRequest{})
	for n := 0; ; n++ {
		if err != nil {
			t.Fatal(err)
		}
		if y, no := goldAsked(); y+no >= 6 {
			if no != 3 || y != 3 {
				t.Fatalf("first six gold questions: %d yes, %d no; want 3 and 3", y, no)
			}
			return
		}
		if len(resp.Tasks) == 0 || n > 200 {
			t.Fatalf("ran out of tasks after %d answers (reason %q)", n, resp.Reason)
		}
		resp, err = cl.Answer(ctx, resp.Tasks[0].ID, api.AnswerRequest{Label: "yes", Next: 1})
	}
}
