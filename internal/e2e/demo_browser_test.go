package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/internal/picture"
	"github.com/myriadhq/myriad/ml/dataset"
)

// waitOutputLine waits for a line of p's output matching re and returns
// its first group.
func waitOutputLine(t *testing.T, p *proc, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(p.out.String()))
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				return m[1]
			}
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited before printing %s", p.name, re)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("%s never printed %s", p.name, re)
	return ""
}

// `myriad demo --humans-only` waits for people: a person (here Chromium,
// reading each digit's picture and clicking its button) labels every
// digit the model is unsure of in the annotator app, and the demo ends
// with their labels, each marked as coming from people. The dashboard
// and the app are photographed on the way for docs/tutorial.md.
func TestDemoHumansOnlyInBrowser(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	small, err := os.ReadFile(filepath.Join(repoRoot(t), "internal", "e2e", "testdata", "demo-small.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// One person, so one answer per digit, taken as it is (Dawid-Skene
	// cannot tell a lone annotator's confusions from the truth); 40 test
	// digits.
	job := strings.Replace(strings.Replace(string(small), "      k: 3\n", "      k: 1\n      aggregate: mv\n", 1), "limit: 80", "limit: 40", 1)
	if !strings.Contains(job, "aggregate: mv") || !strings.Contains(job, "limit: 40") {
		t.Fatal("testdata/demo-small.yaml changed shape: update this test")
	}
	jobFile := writeFile(t, dir, "demo-people.yaml", job)
	addr := freeAddr(t)
	url := "http://" + addr
	out := filepath.Join(dir, "out")
	demo := start(t, "demo --humans-only", "demo", "--job", jobFile, "--data", filepath.Join(dir, "data"), "-o", out,
		"--listen", addr, "--humans-only", "--sync", "normal")
	link := waitOutputLine(t, demo, regexp.MustCompile(`label images yourself: (\S+)`))
	if !strings.HasPrefix(link, url+"/annotate/#invite=") {
		t.Fatalf("annotator link %q", link)
	}
	c := client.New(url, client.WithToken(testToken))
	test, err := dataset.LoadMNIST(dataset.Test)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := picture.NewIndex(test)
	if err != nil {
		t.Fatal(err)
	}

	ctx := newBrowser(t)
	st := waitJob(t, c, "a data-parallel training round to run", func(st *api.JobStatus) bool {
		for _, s := range st.Stages {
			if strings.HasPrefix(s.Name, "train.round") && s.Counts.Running+s.Counts.Done > 0 {
				return true
			}
		}
		return false
	})
	signIn(t, ctx, url)
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"/ui/#/jobs/"+st.ID), chromedp.WaitVisible("table")); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "demo-dashboard.png")

	waitJob(t, c, "the digits to reach people", func(st *api.JobStatus) bool {
		return len(st.Human) == 1 && st.Human[0].State == "collecting"
	})
	// The annotator is another person: a browser of their own (no admin
	// session), on a phone-sized screen.
	ctx = newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844), chromedp.Navigate(link), chromedp.WaitVisible("#instructions")); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "demo-annotate-instructions.png")
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\r"), chromedp.WaitVisible("#item-image")); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "demo-annotate-task.png")

	// Label each digit shown until the stage has its answers: find the
	// picture among the test images, click the true label's button.
	answered := map[int]string{}
	prev := ""
	var lastClick time.Time
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		expr := fmt.Sprintf(`(() => { const i = document.getElementById('item-image');
			return i && !i.hidden && !i.closest('[hidden]') && i.src && i.src !== %q ? i.src : null })()`, prev)
		src, err := chromedp.Run(ctx, chromedp.Poll[string](expr, chromedp.WithPollingTimeout(3*time.Second)))
		if err != nil {
			// No new digit on screen: done if the stage has what it needs.
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			st, serr := c.Job(cctx, st.ID)
			cancel()
			if serr != nil {
				select {
				case <-demo.done: // the job ended and the demo with it
				default:
					t.Fatalf("status: %v", serr)
				}
				break
			}
			if st.State.Final() || (len(st.Human) == 1 && st.Human[0].State != "collecting") {
				break
			}
			continue
		}
		i, ok := ix.Find(src)
		if !ok {
			t.Fatalf("the picture shown is not a test image: %.80s…", src)
		}
		label := test.Classes[test.Y[i]]
		// A person answers a few digits a second at most; the server
		// refuses more than 5 answers per annotator per second.
		time.Sleep(time.Until(lastClick.Add(300 * time.Millisecond))) // pacing, not synchronisation
		lastClick = time.Now()
		click := fmt.Sprintf(`document.querySelector('#buttons button[data-label=%q]').click()`, label)
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](click)); err != nil {
			t.Fatal(err)
		}
		answered[i] = label
		prev = src
	}
	if code, ok := demo.wait(2 * time.Minute); !ok || code != 0 {
		t.Fatalf("demo: exit %d (finished %v)", code, ok)
	}

	// Every digit people labelled carries the person's (right) label, from
	// people; the others the model's.
	raw, err := os.ReadFile(filepath.Join(out, "labels.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	humans := 0
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var x struct {
			Data struct {
				Index  int    `json:"index"`
				Label  string `json:"label"`
				Source string `json:"source"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatal(err)
		}
		want, byPerson := answered[x.Data.Index]
		switch {
		case byPerson && (x.Data.Source != "human" || x.Data.Label != want):
			t.Errorf("digit %d: %s from %s, the person said %s", x.Data.Index, x.Data.Label, x.Data.Source, want)
		case !byPerson && x.Data.Source != "model":
			t.Errorf("digit %d: source %s, but nobody labelled it", x.Data.Index, x.Data.Source)
		}
		if x.Data.Source == "human" {
			humans++
		}
	}
	if humans == 0 || humans != len(answered) {
		t.Errorf("%d labels from people, %d digits answered", humans, len(answered))
	}
	if !strings.Contains(demo.out.String(), "model + people") {
		t.Errorf("the demo printed no final accuracy:\n%s", tail(demo.out.String(), 20))
	}
}
