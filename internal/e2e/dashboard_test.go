package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/internal/browsertest"
	"github.com/myriadhq/myriad/spec"
)

// newBrowser starts headless Chromium with a fresh profile, for this test
// only; it is stopped when the test ends.
func newBrowser(t testing.TB) context.Context {
	t.Helper()
	return browsertest.New(t, 1280, 900, 4*time.Minute)
}

// saveArtifact keeps a test artefact in $MYRIAD_ARTIFACTS, or else the
// repository's artifacts/ folder (gitignored).
func saveArtifact(t *testing.T, name string, data []byte) {
	t.Helper()
	dir := os.Getenv("MYRIAD_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("artefact: %s", filepath.Join(dir, name))
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	saveArtifact(t, name, png)
}

// pollText reads the text of sel until ok accepts it or the deadline
// passes, and returns the last text read.
func pollText(t *testing.T, ctx context.Context, sel string, what string, ok func(string) bool) string {
	t.Helper()
	var last string
	expr := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.innerText : "\u0000"; })()`, sel)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; <-tick.C {
		txt, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil || txt == "\u0000" {
			continue
		}
		last = strings.TrimSpace(txt)
		if ok(last) {
			return last
		}
	}
	t.Fatalf("%s: %s never came; last text %q", what, sel, last)
	return ""
}

// pollCount waits until sel matches want elements.
func pollCount(t testing.TB, ctx context.Context, sel string, want int) {
	t.Helper()
	expr := fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	n := -1
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; <-tick.C {
		var err error
		if n, err = chromedp.Run(ctx, chromedp.Evaluate[int](expr)); err == nil && n == want {
			return
		}
	}
	t.Fatalf("%s matches %d elements, want %d", sel, n, want)
}

// In a real browser against real coordinator and worker processes: the
// job page's done count moves while the job runs (pushed by the event
// stream, no reload), a dead microtask is listed with its error and the
// retry button puts it back in the queue, and a killed worker is shown as
// lost on the workers page. Screenshots of the pages are kept.
func TestDashboardInBrowser(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	url := "http://" + addr
	startServer(t, addr, t.TempDir(), "--lease-ttl", "2s")
	w1 := start(t, "worker w1", "worker", "--server", url, "--slots", "2", "--name", "w1", "--labels", "zone=a", "--exec-allow", "sh")
	start(t, "worker w2", "worker", "--server", url, "--slots", "2", "--name", "w2", "--labels", "zone=b", "--exec-allow", "sh")
	c := client.New(url)
	ctx := context.Background()

	sj := sleepJob(300, 200)
	sj.Name = "resize"
	sj.Stages = append(sj.Stages, spec.Stage{Name: "total", Op: "sum", After: []string{"sleep"}})
	sj.Stages[0].Name = "sleep"
	sub, err := c.Submit(ctx, sj)
	if err != nil {
		t.Fatal(err)
	}
	zero := 0
	bad, err := c.Submit(ctx, &spec.Job{Name: "broken", Input: spec.Input{Items: []any{map[string]any{"id": "x"}}},
		Stages: []spec.Stage{{Name: "fail", Op: "exec", Retries: &zero, Params: map[string]any{"command": []string{"sh", "-c", "echo '<b>disk</b> full' >&2; exit 3"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	// Enough finished jobs for a second page of the list.
	for i := range 60 {
		if _, err := c.Submit(ctx, &spec.Job{Name: fmt.Sprintf("tiny-%02d", i), Input: spec.Input{Items: []any{i}},
			Stages: []spec.Stage{{Op: "noop"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateAnnotator(ctx, api.AnnotatorCreate{Name: "ann-1"}); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	signIn(t, b, url)
	if err := chromedp.Do(b, chromedp.Navigate(url+"/"), chromedp.WaitVisible(`table.jobs tbody tr`)); err != nil {
		t.Fatalf("jobs page: %v", err)
	}
	pollText(t, b, ".pager", "a second page of jobs", func(s string) bool { return strings.Contains(s, "page 1 of 2") })
	// The filter: by name, and the matching job's row.
	if err := chromedp.Do(b, chromedp.SendKeys(`input[type=search]`, "resize")); err != nil {
		t.Fatal(err)
	}
	pollCount(t, b, "table.jobs tbody tr", 1)
	pollText(t, b, fmt.Sprintf(`tr[data-job=%q]`, sub.ID), "the job in the list", func(s string) bool { return strings.Contains(s, "resize") })

	// The job page: the done count grows without a reload.
	if err := chromedp.Do(b, chromedp.Navigate(url+"/ui/#/jobs/"+sub.ID)); err != nil {
		t.Fatal(err)
	}
	first := pollText(t, b, ".done-count", "a first done count", func(s string) bool { _, err := strconv.Atoi(s); return err == nil })
	n0, _ := strconv.Atoi(first)
	pollText(t, b, ".done-count", "progress", func(s string) bool { n, err := strconv.Atoi(s); return err == nil && n > n0 && n < 300 })
	pollText(t, b, `[data-stage="sleep"] .stage-n`, "the stage's counts", func(s string) bool { return strings.Contains(s, "/300 done") })
	// An estimate while it runs (a lower bound, "≥ …", until the reduce
	// stage has a timing).
	pollText(t, b, ".eta", "an ETA", func(s string) bool {
		return strings.HasPrefix(s, "≥") || s != "" && s[0] >= '0' && s[0] <= '9'
	})
	pollText(t, b, ".throughput .chart", "the throughput chart", func(s string) bool { return strings.Contains(s, "done/s") })
	screenshot(t, b, "dashboard-job.png")

	// A dead microtask: its error is shown and the retry button revives it.
	if err := chromedp.Do(b, chromedp.Navigate(url+"/ui/#/jobs/"+bad.ID)); err != nil {
		t.Fatal(err)
	}
	// The error is the operator's text, shown as text, never as HTML.
	pollText(t, b, ".failures table", "the dead microtask's error", func(s string) bool { return strings.Contains(s, "<b>disk</b> full") })
	if n, err := chromedp.Run(b, chromedp.Evaluate[int](`document.querySelectorAll('.failures b').length`)); err != nil || n != 0 {
		t.Fatalf("an error was rendered as HTML (%d <b> elements, %v)", n, err)
	}
	if err := chromedp.Do(b, chromedp.Click(`button.retry`)); err != nil {
		t.Fatalf("click retry: %v", err)
	}
	pollText(t, b, ".failures .msg", "the retry's answer", func(s string) bool { return strings.Contains(s, "Retrying 1 dead microtask") })
	st, err := c.Job(ctx, bad.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Counts.Dead+st.Counts.Ready+st.Counts.Running+st.Counts.Failed == 0 || st.Counts.Done != 0 {
		t.Fatalf("after retry: %+v", st.Counts)
	}

	// The workers page: a killed worker turns lost.
	if err := chromedp.Do(b, chromedp.Navigate(url+"/ui/#/workers")); err != nil {
		t.Fatal(err)
	}
	pollText(t, b, `tr[data-worker="w1"]`, "w1 alive", func(s string) bool { return strings.Contains(s, "alive") && strings.Contains(s, "zone=a") })
	w1.kill()
	pollText(t, b, `tr[data-worker="w1"]`, "w1 lost", func(s string) bool { return strings.Contains(s, "LOST") })
	pollText(t, b, `tr[data-worker="w2"]`, "w2 still alive", func(s string) bool { return strings.Contains(s, "alive") })
	screenshot(t, b, "dashboard-workers.png")

	// Annotators.
	if err := chromedp.Do(b, chromedp.Navigate(url+"/ui/#/annotators")); err != nil {
		t.Fatal(err)
	}
	pollText(t, b, "table.annotators tbody", "the annotator", func(s string) bool { return strings.Contains(s, "ann-1") && strings.Contains(s, "active") })

	if err := chromedp.Do(b, chromedp.Navigate(url+"/ui/#/jobs"), chromedp.WaitVisible(`input[type=search]`),
		chromedp.SendKeys(`input[type=search]`, "resize")); err != nil {
		t.Fatal(err)
	}
	pollText(t, b, fmt.Sprintf(`tr[data-job=%q]`, sub.ID), "the job in the list", func(s string) bool { return strings.Contains(s, "%") })
	screenshot(t, b, "dashboard-jobs.png")
}

// signIn signs the browser in to the dashboard at /login with the tests'
// admin token; the session cookie then carries it.
func signIn(t testing.TB, b context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(b, chromedp.Navigate(url+"/ui/"), chromedp.WaitVisible(`input[name=token]`),
		chromedp.SendKeys(`input[name=token]`, testToken), chromedp.Submit(`form`)); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	// Wait for the form's navigation to land on the dashboard, so the
	// next navigation does not cut it short.
	for deadline := time.Now().Add(30 * time.Second); ; {
		path, err := chromedp.Run(b, chromedp.Evaluate[string](`location.pathname`))
		if err == nil && path == "/ui/" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sign in: the browser is at %q (%v), want /ui/", path, err)
		}
		time.Sleep(20 * time.Millisecond) // polling the page, not standing in for a signal
	}
}
