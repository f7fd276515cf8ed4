package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/myriadhq/myriad/client"
)

var binary string

// testToken is the admin token of the servers these tests start.
const testToken = "myrt_e2e0admin0token0for0the0process0tests"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "myriad-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "myriad")
	build := exec.Command("go", "build", "-o", binary, "github.com/myriadhq/myriad/cmd/myriad")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build myriad:", err)
		os.Exit(1)
	}
	// Every server these tests start knows testToken as an admin token,
	// and every CLI, worker and in-process client sends it (the servers
	// still check it: tokens_test.go runs without it).
	os.Setenv("MYRIAD_ADMIN_TOKEN", testToken)
	os.Setenv("MYRIAD_TOKEN", testToken)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running myriad process.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	name string
	out  *lockedBuffer
	done chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs the binary with args; its output is kept and shown if the
// test fails. It is killed when the test ends.
func start(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("--- output of %s ---\n%s", p.name, tail(p.out.String(), 60))
		}
	})
	return p
}

func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) signal(sig os.Signal) { p.cmd.Process.Signal(sig) }

func (p *proc) wait(timeout time.Duration) (int, bool) {
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), true
	case <-time.After(timeout):
		return -1, false
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startServer starts `myriad server` and waits until it answers.
func startServer(t *testing.T, addr, data string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"server", "--listen", addr, "--data", data, "--sync", "normal", "--log-level", "debug"}, extra...)
	p := start(t, "server", args...)
	waitReady(t, "http://"+addr, p)
	return p
}

func waitReady(t *testing.T, url string, p *proc) {
	t.Helper()
	c := client.New(url)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.Jobs(ctx, "", 1)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited: %s", p.name, tail(p.out.String(), 30))
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("%s did not become ready", p.name)
}

// runCLI runs the binary to the end and returns its exit code and output.
func runCLI(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	return code, stdout.String(), stderr.String()
}

func readLines(r io.Reader) []string {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
