package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/human/sim"
)

// The annotator commands against a real coordinator process: add prints
// an invite link that signs the annotator in, list shows it, pause stops
// its work and resume gives it back, and status shows the human stage.
func TestAnnotatorCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := freeAddr(t)
	url := "http://" + addr
	startServer(t, addr, t.TempDir())
	code, out, stderr := runCLI(t, dir, "--server", url, "annotators", "add", "alice", "--labels", "lang=en")
	if code != 0 {
		t.Fatalf("add: exit %d: %s", code, stderr)
	}
	link := strings.TrimSpace(out)
	tok, ok := strings.CutPrefix(link, url+"/annotate/#invite=")
	if !ok || !strings.HasPrefix(tok, "myra_") {
		t.Fatalf("add printed %q, want an invite link", out)
	}
	if code, _, _ := runCLI(t, dir, "--server", url, "annotators", "add", "alice"); code != 2 {
		t.Fatalf("adding alice twice: exit %d, want 2", code)
	}
	spec := writeFile(t, dir, "label.yaml", `name: label
input:
  items: [{id: a, text: "first"}, {id: b, text: "second"}]
stages:
  - name: label
    op: human
    params:
      title: Which?
      labels: [one, two]
      k: 1
      reward: 0.5
      budget: 10
`)
	code, out, stderr = runCLI(t, dir, "--server", url, "submit", spec)
	if code != 0 {
		t.Fatalf("submit: exit %d: %s", code, stderr)
	}
	job := strings.TrimSpace(out)
	ann := sim.NewClient(url, tok, nil)
	ctx := context.Background()
	var resp *api.TasksResponse
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		var err error
		if resp, err = ann.Next(ctx, api.NextRequest{WaitMS: 1000}); err != nil {
			t.Fatal(err)
		}
		if len(resp.Tasks) > 0 {
			break
		}
	}
	if len(resp.Tasks) == 0 {
		t.Fatal("the annotator got no task")
	}
	if code, _, stderr := runCLI(t, dir, "--server", url, "annotators", "pause", "alice", "--reason", "checking"); code != 0 {
		t.Fatalf("pause: %s", stderr)
	}
	code, out, _ = runCLI(t, dir, "--server", url, "--json", "annotators", "list")
	var list []api.AnnotatorInfo
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || !list[0].Paused || list[0].PauseReason != "checking" || list[0].Labels["lang"] != "en" {
		t.Fatalf("list: exit %d: %s", code, out)
	}
	// Paused: the item it holds may be answered, but it gets no new one.
	resp, err := ann.Answer(ctx, resp.Tasks[0].ID, api.AnswerRequest{Label: "one", Next: 2})
	if err != nil || len(resp.Tasks) != 0 || resp.Reason != "paused" {
		t.Fatalf("answer while paused: %+v %v", resp, err)
	}
	runCLI(t, dir, "--server", url, "annotators", "resume", "alice")
	if resp, err = ann.Next(ctx, api.NextRequest{Want: 1}); err != nil || len(resp.Tasks) != 1 {
		t.Fatalf("after resume: %+v %v", resp, err)
	}
	if _, err := ann.Answer(ctx, resp.Tasks[0].ID, api.AnswerRequest{Label: "two"}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.New(url).Wait(ctxTimeout(t, 30*time.Second), job, nil); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, dir, "--server", url, "status", job)
	if code != 0 || !strings.Contains(out, "HUMAN STAGE") || !strings.Contains(out, "1.00") || !strings.Contains(out, "9.00") {
		t.Fatalf("status: %s", out)
	}
	code, out, _ = runCLI(t, dir, "--server", url, "answers", job)
	if code != 0 || !strings.HasPrefix(out, "question,worker,answer") || strings.Count(out, "alice") != 2 {
		t.Fatalf("answers: %s", out)
	}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
