package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
)

// demoArgs runs `myriad demo` on the reduced demo job (the stages of
// examples/demo.yaml on a few hundred digits and a tiny network).
func demoArgs(t *testing.T, data, out, addr string, extra ...string) []string {
	job := filepath.Join(repoRoot(t), "internal", "e2e", "testdata", "demo-small.yaml")
	args := []string{"demo", "--job", job, "--data", data, "-o", out, "--listen", addr,
		"--annotators", "3", "--answer-time", "250ms", "--sync", "normal", "--lease-ttl", "2s"}
	return append(args, extra...)
}

// waitJob polls the coordinator at url until its demo job's status
// satisfies cond; it fails the test if the job ends first.
func waitJob(t *testing.T, c *client.Client, what string, cond func(*api.JobStatus) bool) *api.JobStatus {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		jobs, err := c.Jobs(ctx, "", 1)
		cancel()
		if err == nil && len(jobs) == 1 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			st, err := c.Job(ctx, jobs[0].ID)
			cancel()
			if err == nil {
				if cond(st) {
					return st
				}
				if st.State.Final() {
					t.Fatalf("the job ended (%s) before %s", st.State, what)
				}
			}
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
	t.Fatalf("timed out waiting for %s", what)
	return nil
}

// The flagship's promise: kill a worker during training and the
// coordinator (the demo process itself, with its crowd) while people are
// answering, start it again, and the final output — every label, its
// source and confidence, the model file — is the same as an undisturbed
// run's.
func TestDemoSurvivesKills(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	refOut, out := filepath.Join(dir, "ref-out"), filepath.Join(dir, "out")

	// The undisturbed run: embedded coordinator and local worker slots.
	ref := start(t, "demo (undisturbed)", demoArgs(t, filepath.Join(dir, "ref-data"), refOut, "127.0.0.1:0")...)

	// The disturbed run: no local slots; a separate worker process does
	// the machine work, so killing it interrupts training.
	addr := freeAddr(t)
	url := "http://" + addr
	args := demoArgs(t, filepath.Join(dir, "data"), out, addr, "--slots", "0")
	demo := start(t, "demo", args...)
	waitReady(t, url, demo)
	w1 := start(t, "worker 1", "worker", "--server", url, "--slots", "2")
	c := client.New(url, client.WithToken(testToken))

	waitJob(t, c, "a data-parallel training round to run", func(st *api.JobStatus) bool {
		for _, s := range st.Stages {
			if strings.HasPrefix(s.Name, "train.round") && s.Counts.Running > 0 {
				return true
			}
		}
		return false
	})
	w1.kill()
	start(t, "worker 2", "worker", "--server", url, "--slots", "2")

	st := waitJob(t, c, "people to be answering", func(st *api.JobStatus) bool {
		return len(st.Human) == 1 && st.Human[0].Answers >= 6 && st.Human[0].State == "collecting"
	})
	demo.kill()
	total := st.Human[0].Items * 3
	if st.Human[0].Answers >= total {
		t.Fatalf("the crowd had finished (%d answers) before the kill", st.Human[0].Answers)
	}

	again := start(t, "demo (again)", args...)
	if code, ok := again.wait(3 * time.Minute); !ok || code != 0 {
		t.Fatalf("demo started again: exit %d (finished %v)", code, ok)
	}
	if !strings.Contains(again.out.String(), "resumed") {
		t.Errorf("the second demo did not resume the job:\n%s", again.out.String())
	}
	if code, ok := ref.wait(3 * time.Minute); !ok || code != 0 {
		t.Fatalf("undisturbed demo: exit %d (finished %v)", code, ok)
	}

	for _, name := range []string{"labels.jsonl", "model.myrm"} {
		want, err := os.ReadFile(filepath.Join(refOut, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 || !bytes.Equal(got, want) {
			t.Errorf("%s differs from the undisturbed run's (%d and %d bytes)", name, len(got), len(want))
		}
	}
	var sum struct {
		Items    int            `json:"items"`
		BySource map[string]int `json:"by_source"`
		Answers  int            `json:"answers"`
		Final    float64        `json:"final_accuracy"`
	}
	raw, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Items != 80 || sum.BySource["human"] == 0 || sum.BySource["model"] == 0 || sum.Answers != 3*sum.BySource["human"] {
		t.Errorf("summary %+v: want 80 items, labels from the model and from people, 3 answers per human item", sum)
	}
	// Every label says where it came from, with its confidence.
	lines := strings.Split(strings.TrimSpace(string(mustRead(t, filepath.Join(out, "labels.jsonl")))), "\n")
	for _, l := range lines {
		var x struct {
			Data struct {
				Label      *string  `json:"label"`
				Source     string   `json:"source"`
				Confidence *float64 `json:"confidence"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(l), &x); err != nil || x.Data.Label == nil || x.Data.Confidence == nil ||
			(x.Data.Source != "model" && x.Data.Source != "human") {
			t.Fatalf("label line without label, source or confidence: %s", l)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The README's cluster command: examples/demo.yaml, unchanged, submitted
// to a coordinator that runs no workers of its own (`myriad server`), is
// accepted — every stage's operator and params checked at submit, the
// images stored through the API — and unrolled into its microtask stages.
func TestDemoJobFileSubmitsToAServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := freeAddr(t)
	url := "http://" + addr
	// No rate limit: the client stores 2 000 images through the API (see
	// the note in docs/benchmarks.md's demo section).
	startServer(t, addr, filepath.Join(dir, "data"), "--rate-limit", "-1")
	c := client.New(url, client.WithToken(testToken))
	example := filepath.Join(repoRoot(t), "examples", "demo.yaml")
	code, stdout, stderr := runCLI(t, dir, "submit", example, "--server", url)
	if code != 0 {
		t.Fatalf("submit examples/demo.yaml: exit %d: %s", code, stderr)
	}
	id := strings.TrimSpace(stdout)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.Job(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range st.Stages {
		names[s.Name] = true
	}
	for _, want := range []string{"clean", "preprocess", "augment", "pack", "crossval.fold", "search.trial", "train.round3", "train", "predict", "label", "score"} {
		if !names[want] {
			t.Errorf("stage %s missing from the submitted job: %v", want, names)
		}
	}
	if st.Items != 2000 {
		t.Errorf("%d items, want the 2 000 training digits", st.Items)
	}
}
