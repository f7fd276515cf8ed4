package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// envWithout is the environment less the test-wide tokens, so a command
// runs with only the credentials the test gives it.
func envWithout(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "MYRIAD_TOKEN=") || strings.HasPrefix(kv, "MYRIAD_ADMIN_TOKEN=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

func runEnv(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), stdout.String(), stderr.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, stdout.String(), stderr.String()
}

// The token life cycle through the CLI: an admin makes a submitter and a
// worker token; a worker with its token runs a job submitted with the
// other; without a token or with a revoked one the CLI is refused (exit
// 2, the coordinator's 401); the worker token cannot submit.
func TestTokensCLI(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	url := "http://" + addr
	startServer(t, addr, t.TempDir())
	admin := envWithout("MYRIAD_TOKEN=" + testToken)
	mk := func(role string) string {
		code, out, stderr := runEnv(t, admin, "--server", url, "tokens", "create", "--role", role, "--name", "e2e "+role)
		if code != 0 || !strings.HasPrefix(out, "myrt_") {
			t.Fatalf("tokens create --role %s: exit %d: %s %s", role, code, out, stderr)
		}
		return strings.TrimSpace(out)
	}
	sub, wk := mk("submitter"), mk("worker")
	w := exec.Command(binary, "worker", "--server", url, "--slots", "2")
	w.Env = envWithout("MYRIAD_TOKEN=" + wk)
	out := &lockedBuffer{}
	w.Stdout, w.Stderr = out, out
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { w.Wait(); close(done) }()
	t.Cleanup(func() { w.Process.Kill(); <-done })

	dir := t.TempDir()
	writeFile(t, dir, "job.yaml", "name: tok\ninput: {items: [\"a b\", \"c\"]}\nstages:\n  - {op: wordcount}\n")
	code, stdout, stderr := runEnv(t, envWithout("MYRIAD_TOKEN="+sub), "--server", url, "submit", dir+"/job.yaml", "--wait")
	if code != 0 {
		t.Fatalf("submit as submitter: exit %d: %s %s\nworker: %s", code, stdout, stderr, out.String())
	}
	if code, _, stderr := runEnv(t, envWithout("MYRIAD_TOKEN="+wk), "--server", url, "submit", dir+"/job.yaml"); code != 2 || !strings.Contains(stderr, "submitter") {
		t.Errorf("submit as worker: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runEnv(t, envWithout(), "--server", url, "jobs"); code != 2 || !strings.Contains(stderr, "token") {
		t.Errorf("no token: exit %d: %s", code, stderr)
	}
	code, stdout, _ = runEnv(t, admin, "--server", url, "--json", "tokens", "list")
	if code != 0 || strings.Contains(stdout, sub) || !strings.Contains(stdout, `"role": "worker"`) && !strings.Contains(stdout, `"role":"worker"`) {
		t.Fatalf("tokens list: %d %s", code, stdout)
	}
	id := ""
	code, stdout, _ = runEnv(t, admin, "--server", url, "tokens", "list")
	for _, line := range strings.Split(stdout, "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[1] == "submitter" {
			id = f[0]
		}
	}
	if code, _, stderr := runEnv(t, admin, "--server", url, "tokens", "revoke", id); code != 0 {
		t.Fatalf("revoke %s: %d %s", id, code, stderr)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, stderr = runEnv(t, envWithout("MYRIAD_TOKEN="+sub), "--server", url, "jobs")
		if code == 2 && strings.Contains(stderr, "revoked") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked token: exit %d: %s", code, stderr)
		}
	}
}
