package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/api"
)

// TestTrainMetricsCLI: a train stage whose network is a model file beside
// the job spec runs on `myriad up`'s worker; `myriad metrics` prints its
// curve, as text and as JSON; `status` shows the latest point; a spec
// with an impossible network is refused naming the file and stage.
func TestTrainMetricsCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := freeAddr(t)
	url := "http://" + addr
	up := start(t, "up", "up", "--listen", addr, "--data", filepath.Join(dir, "data"), "--slots", "2", "--sync", "normal")
	waitReady(t, url, up)
	writeFile(t, dir, "net.yaml", "input: [1, 28, 28]\nlayers:\n  - {kind: conv, filters: 4, kernel: 5}\n  - {kind: maxpool, size: 2}\nepochs: 2\nbatch_size: 32\nseed: 3\n")
	writeFile(t, dir, "job.yaml", "input: {items: [{id: m, dataset: mnist, split: test, limit: 200}]}\nstages:\n  - {name: fit, op: train, params: {model_file: net.yaml}}\n")
	code, stdout, stderr := runCLI(t, dir, "submit", "job.yaml", "--server", url, "--wait")
	if code != 0 {
		t.Fatalf("submit: exit %d: %s %s", code, stdout, stderr)
	}
	id := strings.TrimSpace(stdout)
	code, stdout, stderr = runCLI(t, dir, "metrics", id, "--server", url, "--json")
	var m api.Metrics
	if code != 0 || json.Unmarshal([]byte(stdout), &m) != nil {
		t.Fatalf("metrics --json: exit %d: %s %s", code, stdout, stderr)
	}
	steps := map[string][]int{}
	for _, p := range m.Points {
		if p.Stage == "fit" {
			steps[p.Name] = append(steps[p.Name], p.Step)
		}
	}
	if len(steps["loss"]) != 2 || len(steps["accuracy"]) != 2 {
		t.Fatalf("metrics: %+v, want loss and accuracy at epochs 1 and 2", m.Points)
	}
	code, stdout, _ = runCLI(t, dir, "metrics", id, "--server", url)
	if code != 0 || !strings.Contains(stdout, "STAGE") || !strings.Contains(stdout, "loss") || strings.Count(stdout, "\nfit ") != 2 {
		t.Fatalf("metrics text: exit %d:\n%s", code, stdout)
	}
	code, stdout, _ = runCLI(t, dir, "status", id, "--server", url)
	if code != 0 || !strings.Contains(stdout, "latest metrics") {
		t.Fatalf("status: exit %d:\n%s", code, stdout)
	}

	writeFile(t, dir, "bad.yaml", "input: [1, 4, 4]\nlayers:\n  - {kind: maxpool, size: 2}\n  - {kind: maxpool, size: 4}\n")
	writeFile(t, dir, "badjob.yaml", "input: {items: [{id: m, dataset: mnist}]}\nstages:\n  - {name: fit, op: train, params: {model_file: bad.yaml}}\n")
	code, _, stderr = runCLI(t, dir, "submit", "badjob.yaml", "--server", url)
	if code != 2 || !strings.Contains(stderr, "badjob.yaml:3") || !strings.Contains(stderr, "stages[0].params.model") || !strings.Contains(stderr, "below 1×1") {
		t.Fatalf("impossible network: exit %d: %s", code, stderr)
	}
	up.signal(os.Interrupt)
	if code, ok := up.wait(30e9); !ok || code != 0 {
		t.Fatalf("up after SIGINT: exit %d (exited %v)", code, ok)
	}
}
