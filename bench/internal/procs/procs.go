// Package procs starts and stops the real myriad processes the benchmark
// commands under bench/ measure: coordinators (`myriad server`) and
// workers (`myriad worker`), each in a process group of its own so that
// stopping it also stops what it spawned (commands of the exec operator).
package procs

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/myriadhq/myriad/client"
)

// Token is the admin token every process a Set starts shares (as
// MYRIAD_ADMIN_TOKEN for coordinators and MYRIAD_TOKEN for workers), so a
// run's coordinators, workers and client trust each other.
var Token = func() string {
	var b [20]byte
	rand.Read(b[:])
	return "myrt_" + hex.EncodeToString(b[:])
}()

// Client returns an SDK client for the coordinator at u that carries Token.
func Client(u string) *client.Client { return client.New(u, client.WithToken(Token)) }

// Set is a group of processes started from one binary; Stop kills them
// all. The zero value is not usable: create it with New.
type Set struct {
	// Bin is the myriad binary.
	Bin string

	mu    sync.Mutex
	procs []*exec.Cmd
}

// New returns an empty set that starts processes of bin.
func New(bin string) *Set { return &Set{Bin: bin} }

// Start starts bin with args in a process group of its own, output
// discarded, and returns it.
func (s *Set) Start(args ...string) (*exec.Cmd, error) {
	cmd := exec.Command(s.Bin, args...)
	cmd.Env = append(os.Environ(), "MYRIAD_ADMIN_TOKEN="+Token, "MYRIAD_TOKEN="+Token)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s %s: %w", filepath.Base(s.Bin), strings.Join(args, " "), err)
	}
	s.mu.Lock()
	s.procs = append(s.procs, cmd)
	s.mu.Unlock()
	return cmd, nil
}

// StartServer starts a coordinator on a free loopback port with the
// given store flags (e.g. "--data", dir) and waits until it answers. It
// returns its base URL and process.
func (s *Set) StartServer(storeFlags ...string) (string, *exec.Cmd, error) {
	addr, err := FreeAddr()
	if err != nil {
		return "", nil, err
	}
	cmd, err := s.Start(append([]string{"server", "--listen", addr, "--log-level", "error"}, storeFlags...)...)
	if err != nil {
		return "", nil, err
	}
	u := "http://" + addr
	if err := WaitReady(u, 30*time.Second); err != nil {
		return "", nil, err
	}
	return u, cmd, nil
}

// StartWorkers starts n worker processes of slots slots each, given the
// coordinators' URLs (each worker starts with a different one).
func (s *Set) StartWorkers(urls []string, n, slots int, extra ...string) error {
	for i := 0; i < n; i++ {
		order := append(append([]string{}, urls[i%len(urls):]...), urls[:i%len(urls)]...)
		args := append([]string{"worker", "--server", strings.Join(order, ","), "--slots", strconv.Itoa(slots), "--log-level", "error"}, extra...)
		if _, err := s.Start(args...); err != nil {
			return err
		}
	}
	return nil
}

// Stop kills every process of the set and its process group, and waits
// for them. It may be called more than once.
func (s *Set) Stop() {
	s.mu.Lock()
	procs := s.procs
	s.procs = nil
	s.mu.Unlock()
	for _, p := range procs {
		syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
		p.Process.Kill()
		p.Wait()
	}
}

// FreeAddr returns a loopback address with a port free right now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// WaitReady polls the coordinator at u until it answers or timeout passes.
func WaitReady(u string, timeout time.Duration) error {
	c := Client(u)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := c.Jobs(context.Background(), "", 1); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s did not become ready in %v", u, timeout)
}

// WaitWorkers polls until the coordinator lists at least n workers, so a
// measurement starts once process start-up is over.
func WaitWorkers(c *client.Client, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ws, err := c.Workers(context.Background())
		if err == nil && len(ws) >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d workers did not connect in %v", n, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// PeakRSS reads a process's peak resident set size (VmHWM in
// /proc/PID/status), in bytes.
func PeakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak rss: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fields := strings.Fields(rest)
			if len(fields) != 2 || fields[1] != "kB" {
				return 0, fmt.Errorf("peak rss: unexpected line %q", line)
			}
			kb, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("peak rss: %w", err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("peak rss: %w", err)
	}
	return 0, fmt.Errorf("peak rss: no VmHWM in /proc/%d/status", pid)
}

// Build compiles the myriad binary (of the module the current folder is
// in) into a temporary folder and returns its path and a function
// removing it.
func Build() (string, func(), error) {
	tmp, err := os.MkdirTemp("", "myriad-bench-bin-")
	if err != nil {
		return "", nil, fmt.Errorf("build myriad: %w", err)
	}
	bin := filepath.Join(tmp, "myriad")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/myriadhq/myriad/cmd/myriad")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return "", nil, fmt.Errorf("build myriad: %w\n%s", err, out)
	}
	return bin, func() { os.RemoveAll(tmp) }, nil
}
