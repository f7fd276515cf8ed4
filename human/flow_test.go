package human_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/crowd"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/human/sim"
	"github.com/myriadhq/myriad/task"
)

var binary = []string{"yes", "no"}

func yesNo(i int) string {
	if i%3 == 0 {
		return "no"
	}
	return "yes"
}

// A human stage with fixed redundancy: every item gets exactly k answers
// from k distinct annotators, the job completes with every item labelled
// by people, and the answers and budget show in the job's status.
func TestFixedRedundancy(t *testing.T) {
	t.Parallel()
	b := setup(t, human.Config{}, "")
	toks := b.annotators(t, "ann", 6)
	const n, k = 30, 3
	id := submit(t, b.c, humanJob("fixed", textItems(n, "sentence"), map[string]any{
		"title": "Is it so?", "labels": binary, "k": k, "reward": 0.05, "budget": 100, "currency": "EUR",
	}))
	s, _ := crowd.NewSimulator(1, binary)
	c := &sim.Crowd{URL: b.url, Token: b.srv.AdminToken(), Job: id, Members: members(toks, func(int) crowd.Annotator { return crowd.Annotator{Accuracy: 0.9} }),
		Answer: sim.Modelled(s, truthByText(yesNo))}
	rep, err := c.Run(ctxT(t, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	st := wait(t, b.c, id)
	if st.State != task.JobCompleted {
		t.Fatalf("job %s: %+v", st.State, st.Errors)
	}
	if rep.Answers != n*k {
		t.Errorf("the crowd gave %d answers, want %d (n·k)", rep.Answers, n*k)
	}
	res := results(t, b.c, id)
	if len(res) != n {
		t.Fatalf("%d results, want %d", len(res), n)
	}
	correct := 0
	for i, r := range res {
		if r.Source != human.SourceHuman || r.Answers != k || r.Label == nil {
			t.Fatalf("item %s: %+v", r.ID, r)
		}
		if *r.Label == yesNo(i) {
			correct++
		}
	}
	if correct < n*8/10 {
		t.Errorf("%d/%d labels right with 90%% accurate annotators", correct, n)
	}
	if len(st.Human) != 1 {
		t.Fatalf("status has %d human stages", len(st.Human))
	}
	h := st.Human[0]
	if h.Items != n || h.Stopped != n || h.Answers != n*k || h.State != "reported" || h.Annotators == 0 {
		t.Errorf("human status: %+v", h)
	}
	if want := float64(n*k) * 0.05; h.Spent < want-1e-9 || h.Spent > want+1e-9 || h.Remaining == nil || *h.Remaining != 100-want {
		t.Errorf("spent %v remaining %v, want %v and %v", h.Spent, h.Remaining, want, 100-want)
	}
	var csv bytes.Buffer
	if err := b.c.JobAnswers(context.Background(), id, &csv); err != nil {
		t.Fatal(err)
	}
	answers, err := crowd.ReadAnswers(&csv)
	if err != nil {
		t.Fatal(err)
	}
	if len(answers) != n*k {
		t.Fatalf("%d answers exported, want %d", len(answers), n*k)
	}
	seen := map[[2]string]bool{}
	for _, a := range answers {
		key := [2]string{a.Question, a.Worker}
		if seen[key] {
			t.Fatalf("%s answered %s twice", a.Worker, a.Question)
		}
		seen[key] = true
	}
}

// One annotator labelling each item once (k = 1) gives Dawid-Skene no
// redundancy to learn confusion matrices from; the stage's labels are then
// exactly the answers given, not EM's re-guesses.
func TestSingleAnswersKeptWithoutRedundancy(t *testing.T) {
	t.Parallel()
	b := setup(t, human.Config{}, "")
	toks := b.annotators(t, "solo", 1)
	digits := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	const n = 60
	// A person who mixes up some digits: deterministic, varied answers.
	said := func(i int) string { return digits[(i*7+i/3)%10] }
	id := submit(t, b.c, humanJob("solo", textItems(n, "item"), map[string]any{"labels": digits, "k": 1}))
	truth := truthByText(said)
	c := &sim.Crowd{URL: b.url, Token: b.srv.AdminToken(), Job: id, Members: members(toks, func(int) crowd.Annotator { return crowd.Annotator{} }),
		Answer: func(m *sim.Member, tk api.AnnotateTask) (string, bool) {
			_, label, ok := truth(tk)
			return label, ok
		}}
	rep, err := c.Run(ctxT(t, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("crowd: %d answers, %d skips, %d conflicts in %v", rep.Answers, rep.Skips, rep.Conflicts, rep.Elapsed)
	if st := wait(t, b.c, id); st.State != task.JobCompleted {
		t.Fatalf("job %s", st.State)
	}
	changed := 0
	for i, r := range results(t, b.c, id) {
		if r.Label == nil || *r.Label != said(i) {
			changed++
		}
	}
	if changed > 0 {
		t.Errorf("%d of %d single answers came out as another label", changed, n)
	}
}

// A crowd told to watch a job it may not read (no token) says so at once
// instead of answering on until its context ends.
func TestCrowdWatchErrorReported(t *testing.T) {
	t.Parallel()
	b := setup(t, human.Config{}, "")
	toks := b.annotators(t, "w", 1)
	id := submit(t, b.c, humanJob("watch", textItems(3, "item"), map[string]any{"labels": binary, "k": 1}))
	c := &sim.Crowd{URL: b.url, Job: id, Members: members(toks, func(int) crowd.Annotator { return crowd.Annotator{Accuracy: 1} }),
		Answer: sim.Modelled(mustSim(t), truthByText(yesNo))}
	_, err := c.Run(ctxT(t, time.Minute))
	if err == nil || !strings.Contains(err.Error(), "watch job") {
		t.Fatalf("Run without a token to watch the job: %v, want a watch error", err)
	}
}

func mustSim(t *testing.T) *crowd.Simulator {
	t.Helper()
	s, err := crowd.NewSimulator(1, binary)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
