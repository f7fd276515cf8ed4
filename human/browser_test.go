package human_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/crowd"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/internal/browsertest"
)

// newBrowser starts headless Chromium with a fresh profile and a phone
// sized window, for this test only.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return browsertest.New(t, 390, 844, 8*time.Minute)
}

// artifact saves a test artefact in the repository's artifacts/ folder
// (gitignored).
func artifact(t *testing.T, name string, data []byte) {
	dir := filepath.Join("..", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("artefact: artifacts/%s", name)
}

var animals = []string{"cat", "dog", "bird"}

func animal(i int) string { return animals[i%3] }

// In a real browser on a phone-sized screen: sign in with the invite
// link, read the instructions generated from the stage, label ten items
// with the keyboard (undoing one answer on the way), and find the answers
// stored. A screenshot of the task view is kept as an artefact.
func TestBrowserLabelsTenItemsByKeyboard(t *testing.T) {
	t.Parallel()
	b := setup(t, human.Config{UndoWindow: 30 * time.Second}, "")
	ctx := context.Background()
	created, err := b.c.CreateAnnotator(ctx, api.AnnotatorCreate{Name: "browser"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 12
	items := make([]any, n)
	for i := range n {
		items[i] = map[string]any{"id": fmt.Sprint("pic", i), "text": fmt.Sprintf("A picture of a %s, number %02d <b>not bold</b>", animal(i), i)}
	}
	id := submit(t, b.c, humanJob("animals", items, map[string]any{
		"title":        "Which animal is it?",
		"instructions": "Read the description and pick the animal it shows.",
		"labels": []any{
			map[string]any{"name": "cat", "description": "a small feline", "examples": []any{"a cat on a mat"}},
			map[string]any{"name": "dog", "description": "a loyal canine"},
			map[string]any{"name": "bird", "description": "it has feathers"},
		},
		"rules": []any{"Skip an item you cannot judge."},
		"k":     1,
	}))
	b.waitStage(t, id)

	bctx := newBrowser(t)
	if err := chromedp.Do(bctx, chromedp.Navigate(created.Link), chromedp.WaitVisible("#instructions")); err != nil {
		t.Fatal(err)
	}
	text := func(sel string) string {
		s, err := chromedp.Run(bctx, chromedp.Text(sel))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	insTitle, insText, labelsText := text("#ins-title"), text("#ins-text"), text("#ins-labels")
	if insTitle != "Which animal is it?" || !strings.Contains(insText, "pick the animal") ||
		!strings.Contains(labelsText, "a loyal canine") || !strings.Contains(labelsText, "a cat on a mat") {
		t.Fatalf("instructions: %q %q %q", insTitle, insText, labelsText)
	}
	if url, _ := chromedp.Run(bctx, chromedp.Location()); strings.Contains(url, "invite=") {
		t.Errorf("the invite token stayed in the address bar: %s", url)
	}
	if err := chromedp.Do(bctx, chromedp.KeyEvent("\r"), chromedp.WaitVisible("#item-text")); err != nil {
		t.Fatal(err)
	}
	// waitItem waits (in the page) for the item on screen to be one other
	// than prev, or exactly want when want is set.
	waitItem := func(prev, want string) string {
		q, _ := json.Marshal(prev)
		w, _ := json.Marshal(want)
		expr := fmt.Sprintf(`(() => { const e = document.getElementById('item-text'); const t = e && !e.closest('[hidden]') ? e.textContent : '';
			return t && t !== %s && (%s === '' || t === %s) ? t : null })()`, q, w, w)
		s, err := chromedp.Run(bctx, chromedp.Poll[string](expr, chromedp.WithPollingTimeout(20*time.Second)))
		if err != nil {
			page, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById('task').innerText + ' | ' + document.getElementById('status').innerText`))
			t.Fatalf("waiting for the item after %q (want %q): %v; the page says %q", prev, want, err, page)
		}
		return s
	}
	numberOf := func(text string) int {
		var kind string
		var i int
		if _, err := fmt.Sscanf(text[strings.Index(text, "of a ")+5:], "%s number %d", &kind, &i); err != nil {
			t.Fatalf("cannot read %q: %v", text, err)
		}
		return i
	}
	answered := map[int]string{}
	cur := waitItem("", "")
	if bold, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#item b').length`)); err != nil || bold != 0 {
		t.Fatalf("item text was rendered as HTML (%d <b> elements, %v)", bold, err)
	}
	for len(answered) < 10 {
		i := numberOf(cur)
		key := fmt.Sprint(1 + i%3) // 1 cat, 2 dog, 3 bird
		if len(answered) == 4 {
			shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			artifact(t, "annotate-task.png", shot)
			// A wrong answer, undone at once: the item comes back.
			if err := chromedp.Do(bctx, chromedp.KeyEvent(fmt.Sprint(1+(i+1)%3))); err != nil {
				t.Fatal(err)
			}
			waitItem(cur, "")
			if err := chromedp.Do(bctx, chromedp.WaitVisible("#undo"), chromedp.KeyEvent("u")); err != nil {
				t.Fatal(err)
			}
			waitItem("", cur)
		}
		if err := chromedp.Do(bctx, chromedp.KeyEvent(key)); err != nil {
			t.Fatal(err)
		}
		answered[i] = animal(i)
		if len(answered) < 10 {
			cur = waitItem(cur, "")
		}
	}
	if overflow, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)); err != nil || overflow {
		t.Errorf("the page is wider than a phone screen (%v)", err)
	}
	// The answers are in the store: ten, each the right animal, the undone
	// one replaced. The last answer may still be in flight: wait for it.
	var rows []crowd.Answer
	deadline := time.Now().Add(20 * time.Second)
	for len(rows) < 10 && time.Now().Before(deadline) {
		var buf bytes.Buffer
		if err := b.c.JobAnswers(ctx, id, &buf); err == nil {
			rows, _ = crowd.ReadAnswers(&buf)
		}
		if len(rows) < 10 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if len(rows) != 10 {
		t.Fatalf("%d answers stored, want 10", len(rows))
	}
	for _, r := range rows {
		var i int
		fmt.Sscanf(r.Question, "pic%d", &i)
		if r.Worker != "browser" || r.Label != answered[i] {
			t.Errorf("stored %+v, want %s", r, answered[i])
		}
	}
}
