package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/task"
)

// The CLI's observability against a real `myriad up`: status --watch
// prints plain progress lines (with rate and ETA) when not on a terminal
// and JSON lines with --json; retry revives a dead microtask; JSON logs
// carry a request id on API lines and job and microtask ids on
// scheduling lines; an unknown log format is refused.
func TestCLIWatchRetryAndLogs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := freeAddr(t)
	url := "http://" + addr
	up := start(t, "up", "up", "--listen", addr, "--data", filepath.Join(dir, "data"), "--slots", "2", "--sync", "normal",
		"--log-format", "json", "--log-level", "debug")
	waitReady(t, url, up)

	writeFile(t, dir, "slow.yaml", "name: slow\ninput: {items: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]}\nstages:\n  - {op: sleep, params: {ms: 400}}\n")
	code, stdout, stderr := runCLI(t, dir, "submit", "slow.yaml", "--server", url)
	if code != 0 {
		t.Fatalf("submit: exit %d: %s", code, stderr)
	}
	id := strings.TrimSpace(stdout)
	code, _, stderr = runCLI(t, dir, "status", id, "--watch", "--server", url)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != 0 || len(lines) < 2 {
		t.Fatalf("status --watch: exit %d, %d lines: %s", code, len(lines), stderr)
	}
	for _, l := range lines {
		if strings.Contains(l, "\x1b[") || !strings.Contains(l, "microtasks done") || !strings.Contains(l, "ETA") || !strings.Contains(l, "/s") {
			t.Fatalf("status --watch off a terminal printed %q, want plain lines with rate and ETA", l)
		}
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "completed") || !strings.Contains(last, "16/16") {
		t.Fatalf("last line %q", last)
	}

	code, stdout, stderr = runCLI(t, dir, "submit", "slow.yaml", "--server", url)
	id2 := strings.TrimSpace(stdout)
	code, stdout, stderr = runCLI(t, dir, "status", id2, "--watch", "--json", "--server", url)
	var last api.JobStatus
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if err := json.Unmarshal([]byte(l), &last); err != nil {
			t.Fatalf("status --watch --json line %q: %v", l, err)
		}
		n++
	}
	if code != 0 || n < 2 || last.ID != id2 || last.State != task.JobCompleted {
		t.Fatalf("status --watch --json: exit %d, %d lines, last %+v: %s", code, n, last, stderr)
	}

	writeFile(t, dir, "bad.yaml", "name: bad\ninput: {items: [1]}\nstages:\n  - {op: exec, retries: 0, params: {command: [sh, -c, 'exit 3']}}\n")
	code, stdout, stderr = runCLI(t, dir, "submit", "bad.yaml", "--wait", "--server", url)
	bad := strings.TrimSpace(stdout)
	if code != 3 {
		t.Fatalf("submit --wait of a failing job: exit %d: %s", code, stderr)
	}
	code, stdout, stderr = runCLI(t, dir, "retry", bad, "--json", "--server", url)
	var r api.RetryResponse
	if code != 0 || json.Unmarshal([]byte(stdout), &r) != nil || r.Revived != 1 || r.Job == nil || r.Job.ID != bad {
		t.Fatalf("retry: exit %d: %s %s", code, stdout, stderr)
	}
	if code, _, stderr = runCLI(t, dir, "retry", id, "--server", url); code != 2 || !strings.Contains(stderr, "completed") {
		t.Fatalf("retry of a completed job: exit %d: %s", code, stderr)
	}
	if code, _, stderr = runCLI(t, dir, "jobs", "--log-format", "xml", "--server", url); code != 2 || !strings.Contains(stderr, "--log-format") {
		t.Fatalf("--log-format xml: exit %d: %s", code, stderr)
	}

	// Logs: JSON, a request id on each API line, ids on scheduling lines.
	var sawRequest, sawLease bool
	for _, l := range strings.Split(strings.TrimSpace(up.out.String()), "\n") {
		if strings.HasPrefix(l, "time=") {
			t.Fatalf("a text log line with --log-format json: %q", l)
		}
		if !strings.HasPrefix(l, "{") {
			continue // the banner for people, on stdout
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		switch rec["msg"] {
		case "http":
			if rec["request_id"] == nil || rec["request_id"] == "" {
				t.Fatalf("API log line without a request id: %s", l)
			}
			sawRequest = true
		case "microtask leased", "microtask done":
			if rec["job"] == nil || rec["task"] == nil {
				t.Fatalf("scheduling line without job and microtask ids: %s", l)
			}
			sawLease = true
		}
	}
	if !sawRequest || !sawLease {
		t.Fatalf("logs lack API (%v) or scheduling (%v) lines", sawRequest, sawLease)
	}
}
