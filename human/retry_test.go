package human_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/crowd"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/human/sim"
	"github.com/myriadhq/myriad/server"
	"github.com/myriadhq/myriad/task"
)

// answersLimited lets an annotator answer once a second after a burst of
// two; other requests are not limited.
var answersLimited = server.SecurityConfig{RateLimit: -1, AnswerRate: 1, AnswerBurst: 2}

// storedAnswers waits (polling the export) until the job has want
// answers stored, and returns them.
func storedAnswers(t *testing.T, b *bundle, job string, want int) []crowd.Answer {
	t.Helper()
	var rows []crowd.Answer
	deadline := time.Now().Add(20 * time.Second)
	for len(rows) < want && time.Now().Before(deadline) {
		var buf bytes.Buffer
		if err := b.c.JobAnswers(context.Background(), job, &buf); err == nil {
			rows, _ = crowd.ReadAnswers(&buf)
		}
		if len(rows) < want {
			time.Sleep(50 * time.Millisecond) // polling the store
		}
	}
	return rows
}

// openAnimals starts a job of n items to label cat, dog or bird (item i
// is animal(i)) and opens its invite link for a new annotator in a
// browser, at the instructions.
func openAnimals(t *testing.T, b *bundle, name string, n int) (job string, bctx context.Context) {
	t.Helper()
	created, err := b.c.CreateAnnotator(context.Background(), api.AnnotatorCreate{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	items := make([]any, n)
	for i := range n {
		items[i] = map[string]any{"id": fmt.Sprint("pic", i), "text": fmt.Sprintf("A picture of a %s, number %02d", animal(i), i)}
	}
	job = submit(t, b.c, humanJob(name, items, map[string]any{"title": "Which animal is it?", "labels": []any{"cat", "dog", "bird"}, "k": 1}))
	b.waitStage(t, job)
	bctx = newBrowser(t)
	if err := chromedp.Do(bctx, chromedp.Navigate(created.Link), chromedp.WaitVisible("#instructions")); err != nil {
		t.Fatal(err)
	}
	return job, bctx
}

// nextItem waits for an item other than prev on screen, and fails with
// what the page says if none comes.
func nextItem(t *testing.T, bctx context.Context, prev string) string {
	t.Helper()
	q, _ := json.Marshal(prev)
	expr := fmt.Sprintf(`(() => { const e = document.getElementById('item-text'); const t = e && !e.closest('[hidden]') ? e.textContent : '';
		return t && t !== %s ? t : null })()`, q)
	s, err := chromedp.Run(bctx, chromedp.Poll[string](expr, chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		page, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector('main').innerText`))
		t.Fatalf("waiting for the item after %q: %v; the page says %q", prev, err, page)
	}
	return s
}

// itemNumber reads i from "A picture of a <animal>, number <i>".
func itemNumber(t *testing.T, text string) int {
	t.Helper()
	var kind string
	var i int
	if _, err := fmt.Sscanf(text[strings.Index(text, "of a ")+5:], "%s number %d", &kind, &i); err != nil {
		t.Fatalf("cannot read %q: %v", text, err)
	}
	return i
}

// A simulated annotator answering faster than the server allows is
// answered 429: it waits Retry-After and sends the same answer again, so
// the job completes with every answer stored once and the limits
// counted. Other client errors still fail at once.
func TestCrowdWaitsOutRateLimit(t *testing.T) {
	t.Parallel()
	b := setupWith(t, human.Config{}, "", answersLimited)
	toks := b.annotators(t, "fast", 1)
	const n = 6
	id := submit(t, b.c, humanJob("limited", textItems(n, "sentence"), map[string]any{"labels": binary, "k": 1}))
	c := &sim.Crowd{URL: b.url, Token: b.srv.AdminToken(), Job: id, Members: members(toks, func(int) crowd.Annotator { return crowd.Annotator{} }),
		Answer: func(m *sim.Member, tk api.AnnotateTask) (string, bool) {
			_, label, ok := truthByText(yesNo)(tk)
			return label, ok
		}}
	rep, err := c.Run(ctxT(t, time.Minute))
	if err != nil {
		t.Fatalf("the crowd failed (limited %d times): %v", rep.Limited, err)
	}
	t.Logf("crowd: %d answers, limited %d times, in %v", rep.Answers, rep.Limited, rep.Elapsed)
	if st := wait(t, b.c, id); st.State != task.JobCompleted {
		t.Fatalf("job %s: %+v", st.State, st.Errors)
	}
	if rep.Answers != n || rep.Limited == 0 {
		t.Errorf("%d answers, limited %d times; want %d answers, limited at least once", rep.Answers, rep.Limited, n)
	}
	rows := storedAnswers(t, b, id, n)
	seen := map[string]int{}
	for _, r := range rows {
		seen[r.Question]++
	}
	if len(rows) != n || len(seen) != n {
		t.Errorf("%d answers stored for %d items, want %d each answered once: %v", len(rows), len(seen), n, seen)
	}

	cl := sim.NewClient(b.url, toks[0], nil)
	_, err = cl.Next(context.Background(), api.NextRequest{Stage: "nosuch.0"})
	if sim.Status(err) != 404 || cl.Limited() != 0 {
		t.Errorf("work from a stage that does not exist: %v (limited %d times), want a 404 at once", err, cl.Limited())
	}
}

// In a real browser, a person answering by keyboard faster than the
// server's answer limit: every 429 is waited out with a note on screen,
// the app moves on to each next item, no answered item comes back, and
// every answer is stored exactly once with the label given.
func TestBrowserAnswersFasterThanTheLimit(t *testing.T) {
	t.Parallel()
	b := setupWith(t, human.Config{UndoWindow: 30 * time.Second}, "", answersLimited)
	const n, answers = 10, 8
	id, bctx := openAnimals(t, b, "quick", n)
	// Keep the last text of the "going too fast" note: it shows only
	// while a 429 is waited out.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(() => { window.calmSeen = '';
		new MutationObserver(() => { const c = document.getElementById('calm'); if (c && !c.hidden) window.calmSeen = c.textContent })
			.observe(document.body, {attributes: true, childList: true, subtree: true}); return true })()`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	answered := map[int]string{}
	cur := nextItem(t, bctx, "")
	for len(answered) < answers {
		i := itemNumber(t, cur)
		if _, ok := answered[i]; ok {
			t.Fatalf("item %d came back after it was answered", i)
		}
		if err := chromedp.Do(bctx, chromedp.KeyEvent(fmt.Sprint(1+i%3))); err != nil {
			t.Fatal(err)
		}
		answered[i] = animal(i)
		cur = nextItem(t, bctx, cur) // the app goes on: the next item, after any wait
	}
	rows := storedAnswers(t, b, id, answers)
	if len(rows) != answers {
		t.Fatalf("%d answers stored, want %d", len(rows), answers)
	}
	seen := map[string]int{}
	for _, r := range rows {
		seen[r.Question]++
		var i int
		fmt.Sscanf(r.Question, "pic%d", &i)
		if r.Worker != "quick" || r.Label != answered[i] || seen[r.Question] > 1 {
			t.Errorf("stored %+v (answer %d to it), want one answer %q", r, seen[r.Question], answered[i])
		}
	}
	calm, err := chromedp.Run(bctx, chromedp.Evaluate[string](`window.calmSeen`))
	if err != nil || !strings.Contains(calm, "Going too fast — waiting 1 s") {
		t.Errorf("the page never said it was waiting out the limit (%q, %v)", calm, err)
	}
	if shown, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`!document.getElementById('problem').hidden`)); err != nil || shown {
		t.Errorf("the page shows an error (%v)", err)
	}
}

// In a real browser, an answer whose request fails on the network is
// not lost: the app says so with a retry button and goes on to the next
// item; the retry key R sends the same answer again, and it is stored
// once.
func TestBrowserRetriesAFailedAnswer(t *testing.T) {
	t.Parallel()
	b := setup(t, human.Config{UndoWindow: 30 * time.Second}, "")
	id, bctx := openAnimals(t, b, "unlucky", 4)
	// The page's next answer request fails as if the network dropped it.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(() => { const f = window.fetch; window.dropNext = true;
		window.fetch = (u, o) => { if (window.dropNext && String(u).endsWith('/answer')) { window.dropNext = false; return Promise.reject(new TypeError('Failed to fetch')) } return f(u, o) };
		return true })()`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	first := nextItem(t, bctx, "")
	i := itemNumber(t, first)
	if err := chromedp.Do(bctx, chromedp.KeyEvent(fmt.Sprint(1+i%3))); err != nil {
		t.Fatal(err)
	}
	second := nextItem(t, bctx, first)
	msg, err := chromedp.Run(bctx, chromedp.Poll[string](`(() => { const p = document.getElementById('problem'); return p.hidden ? null : p.innerText })()`,
		chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil || !strings.Contains(msg, "Your answer was not saved: Failed to fetch") || !strings.Contains(msg, "Try again") {
		t.Fatalf("after a failed answer the page shows %q (%v), want the failure and a retry button", msg, err)
	}
	if got := itemNumber(t, second); got == i {
		t.Fatalf("the item whose answer failed is on screen again")
	}
	if err := chromedp.Do(bctx, chromedp.KeyEvent("r")); err != nil {
		t.Fatal(err)
	}
	rows := storedAnswers(t, b, id, 1)
	if len(rows) != 1 || rows[0].Question != fmt.Sprint("pic", i) || rows[0].Label != animal(i) {
		t.Fatalf("stored %+v, want one answer %s to pic%d", rows, animal(i), i)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById('problem').hidden || null`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Errorf("the failure stayed on screen after the retry: %v", err)
	}
	if now := nextItem(t, bctx, first); now != second {
		t.Errorf("the retry changed the item on screen from %q to %q", second, now)
	}
}

// In a real browser, two answers given faster than the server replies
// reach it in the person's order, so undo takes back the last one: the
// first answer's request is held back in the page until the second
// has either reached the server (an app that sends both at once) or
// waits its turn (one that sends them in order).
func TestBrowserUndoesTheLastOfTwoQuickAnswers(t *testing.T) {
	t.Parallel()
	b := setup(t, human.Config{UndoWindow: 30 * time.Second}, "")
	id, bctx := openAnimals(t, b, "quick2", 4)
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(() => { const f = window.fetch; let held = null; window.answerCalls = 0;
		window.fetch = (u, o) => { if (!String(u).endsWith('/answer')) return f(u, o);
			window.answerCalls++;
			if (window.answerCalls > 1) return f(u, o);
			return new Promise((ok) => { held = () => ok(f(u, o)) }) };
		window.release = () => { held(); return true };
		return true })()`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	first := nextItem(t, bctx, "")
	i := itemNumber(t, first)
	if err := chromedp.Do(bctx, chromedp.KeyEvent(fmt.Sprint(1+i%3))); err != nil {
		t.Fatal(err)
	}
	second := nextItem(t, bctx, first)
	j := itemNumber(t, second)
	if err := chromedp.Do(bctx, chromedp.KeyEvent(fmt.Sprint(1+j%3))); err != nil {
		t.Fatal(err)
	}
	if calls, err := chromedp.Run(bctx, chromedp.Evaluate[int](`window.answerCalls`)); err != nil {
		t.Fatal(err)
	} else if calls > 1 {
		storedAnswers(t, b, id, 1) // the second answer went out at once: let it arrive first
	}
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.release()`)); err != nil {
		t.Fatal(err)
	}
	if rows := storedAnswers(t, b, id, 2); len(rows) != 2 {
		t.Fatalf("%d answers stored, want 2", len(rows))
	}
	if err := chromedp.Do(bctx, chromedp.WaitVisible("#undo"), chromedp.KeyEvent("u")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](fmt.Sprintf(`document.getElementById('item-text').textContent === %q || null`, second),
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		page, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector('main').innerText`))
		t.Fatalf("after undo the page shows %q (%v), want the second item %q back", page, err, second)
	}
	var rows []crowd.Answer
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) { // polling the store
		var buf bytes.Buffer
		if err := b.c.JobAnswers(context.Background(), id, &buf); err == nil {
			if rows, _ = crowd.ReadAnswers(&buf); len(rows) == 1 {
				break
			}
		}
	}
	if len(rows) != 1 || rows[0].Question != fmt.Sprint("pic", i) {
		t.Errorf("stored after undo: %+v, want only the first answer (pic%d)", rows, i)
	}
}
