package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/task"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The README's one-shot command on the example job.
func TestRunWordcountExample(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	example := filepath.Join(repoRoot(t), "examples", "wordcount.yaml")
	out := filepath.Join(dir, "out.jsonl")
	code, _, stderr := runCLI(t, dir, "run", example, "-o", out, "--slots", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one merged line, got %d", len(lines))
	}
	var l api.ResultLine
	if err := json.Unmarshal([]byte(lines[0]), &l); err != nil {
		t.Fatal(err)
	}
	var total struct {
		Items int `json:"items"`
		Sum   struct {
			Words int `json:"words"`
		} `json:"sum"`
	}
	json.Unmarshal(l.Data, &total)
	text, _ := os.ReadFile(filepath.Join(repoRoot(t), "examples", "data", "pride-and-prejudice-ch1.txt"))
	wantLines := len(strings.Split(strings.TrimSpace(string(text)), "\n"))
	wantWords := len(strings.FieldsFunc(string(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) && r != '\'' }))
	if l.ID != "sum" || l.Stage != "total" || total.Items != wantLines || total.Sum.Words != wantWords {
		t.Fatalf("got %s; want %d items and %d words", lines[0], wantLines, wantWords)
	}
}

func TestCLIExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "badop.yaml", "name: x\ninput: {items: [1, 2]}\nstages:\n  - op: noop\n  - op: wordcnt\n")
	writeFile(t, dir, "badyaml.yaml", "name: x\nstages: [\n")
	writeFile(t, dir, "nofile.yaml", "input:\n  file: missing.jsonl\nstages: [{op: noop}]\n")
	writeFile(t, dir, "cycle.yaml", "input: {items: [1]}\nstages:\n  - {name: a, op: noop, after: [input, b]}\n  - {name: b, op: noop, after: [a]}\n")
	writeFile(t, dir, "unknown.yaml", "input: {items: [1]}\nstages:\n  - {op: noop, colour: red}\n")
	writeFile(t, dir, "fails.yaml", "input: {items: [a, b]}\nstages:\n  - {op: exec, retries: 1, backoff: 10ms, params: {command: [sh, -c, 'echo broken >&2; exit 7']}}\n")
	cases := []struct {
		file    string
		code    int
		mention []string
	}{
		{"badop.yaml", 2, []string{"badop.yaml:5:", "stages[1].op", `unknown operator "wordcnt"`}},
		{"badyaml.yaml", 2, []string{"badyaml.yaml:2:"}},
		{"nofile.yaml", 2, []string{"nofile.yaml:2:", "input.file", "missing.jsonl does not exist"}},
		{"cycle.yaml", 2, []string{"cycle"}},
		{"unknown.yaml", 2, []string{"unknown.yaml:3:", "colour"}},
		{"fails.yaml", 3, []string{"dead", "exit status 7: broken", "completed with 2 dead"}},
		{"absent.yaml", 1, []string{"absent.yaml"}},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, dir, "run", c.file, "-o", "out.jsonl", "--exec-allow", "sh")
		if code != c.code {
			t.Errorf("%s: exit %d, want %d: %s", c.file, code, c.code, stderr)
		}
		for _, m := range c.mention {
			if !strings.Contains(stderr, m) {
				t.Errorf("%s: stderr does not mention %q: %s", c.file, m, stderr)
			}
		}
	}
	if code, _, _ := runCLI(t, dir, "run"); code != 2 {
		t.Errorf("missing argument: exit %d, want 2", code)
	}
	if code, _, _ := runCLI(t, dir, "status", "--bogus-flag"); code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
	if code, _, stderr := runCLI(t, dir, "worker", "--prefetch", "lots"); code != 2 || !strings.Contains(stderr, "--prefetch") {
		t.Errorf("worker --prefetch lots: exit %d, want 2 naming the flag: %s", code, stderr)
	}
}

// up, then the client commands against it.
func TestUpSubmitStatusResults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := freeAddr(t)
	url := "http://" + addr
	up := start(t, "up", "up", "--listen", addr, "--data", filepath.Join(dir, "data"), "--slots", "2", "--sync", "normal")
	waitReady(t, url, up)
	writeFile(t, dir, "job.yaml", "name: shout\ninput: {items: [{id: a, text: hi there}, {id: b, text: hello}]}\nstages:\n  - {op: wordcount}\n")
	code, stdout, stderr := runCLI(t, dir, "submit", "job.yaml", "--server", url, "--wait")
	if code != 0 {
		t.Fatalf("submit: exit %d: %s", code, stderr)
	}
	id := strings.TrimSpace(stdout)
	if !strings.HasPrefix(id, "j") || len(id) < 16 {
		t.Fatalf("submit printed %q, want a job id", id)
	}
	code, stdout, _ = runCLI(t, dir, "status", id[:8], "--server", url, "--json")
	var st api.JobStatus
	if code != 0 || json.Unmarshal([]byte(stdout), &st) != nil || st.ID != id || st.State != task.JobCompleted {
		t.Fatalf("status by prefix: exit %d: %s", code, stdout)
	}
	code, stdout, _ = runCLI(t, dir, "status", id, "--server", url)
	if code != 0 || !strings.Contains(stdout, "completed") || !strings.Contains(stdout, "wordcount") {
		t.Fatalf("status text: %s", stdout)
	}
	code, _, stderr = runCLI(t, dir, "results", id, "--server", url, "-o", "res.jsonl")
	data, _ := os.ReadFile(filepath.Join(dir, "res.jsonl"))
	if code != 0 || strings.Count(string(data), "\n") != 2 || !strings.Contains(string(data), `"id":"b"`) {
		t.Fatalf("results: exit %d %s: %s", code, stderr, data)
	}
	code, stdout, _ = runCLI(t, dir, "jobs", "--server", url, "--json")
	var jobs []api.JobStatus
	if code != 0 || json.Unmarshal([]byte(stdout), &jobs) != nil || len(jobs) != 1 {
		t.Fatalf("jobs: %s", stdout)
	}
	code, stdout, _ = runCLI(t, dir, "workers", "--server", url, "--json")
	var ws []task.Worker
	if code != 0 || json.Unmarshal([]byte(stdout), &ws) != nil || len(ws) != 1 || ws[0].Slots != 2 || ws[0].State != task.WorkerAlive {
		t.Fatalf("workers: %s", stdout)
	}
	writeFile(t, dir, "long.yaml", "input: {items: [1, 2, 3, 4, 5, 6]}\nstages:\n  - {op: sleep, params: {ms: 60000}}\n")
	code, stdout, _ = runCLI(t, dir, "submit", "long.yaml", "--server", url)
	long := strings.TrimSpace(stdout)
	code, stdout, stderr = runCLI(t, dir, "cancel", long, "--server", url)
	if code != 0 || !strings.Contains(stdout, "canceled") {
		t.Fatalf("cancel: exit %d %s %s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, dir, "status", "jnosuchjob", "--server", url)
	if code != 2 || !strings.Contains(stderr, "no job") {
		t.Fatalf("unknown job: exit %d %s", code, stderr)
	}
	up.signal(os.Interrupt)
	if code, ok := up.wait(30e9); !ok || code != 0 {
		t.Fatalf("up after SIGINT: exit %d (exited %v)", code, ok)
	}
}
