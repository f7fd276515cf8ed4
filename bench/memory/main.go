// Command memory measures the coordinator's resident memory (RSS, from
// /proc) with a large queue: it starts `myriad server` on a fresh SQLite
// data folder, submits one job of -n no-op microtasks with no worker
// connected, and reports the RSS once all are queued (and the peak while
// the job was submitted). With -workers it then starts that many worker
// processes and reports the peak RSS while they work the queue down.
//
//	go build -o /tmp/myriad ./cmd/myriad
//	go run ./bench/memory -bin /tmp/myriad -n 1000000
//	go run ./bench/memory -bin /tmp/myriad -n 1000000 -workers 4 -slots 16
//
// Linux only (it reads /proc/PID/status).
package main

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/spec"
)

func main() {
	// The processes this benchmark starts share one admin API token: the
	// coordinator accepts it, workers and the client send it.
	shareToken()
	bin := flag.String("bin", "", "the myriad binary (required)")
	n := flag.Int("n", 1_000_000, "microtasks")
	workers := flag.Int("workers", 0, "worker processes to run the queue down after measuring it (0: none)")
	slots := flag.Int("slots", 16, "slots per worker")
	jobs := flag.Int("jobs", 1, "submit the microtasks as this many jobs (the submission's own peak scales with a job's size, the queue's cost should not)")
	settle := flag.Duration("settle", 10*time.Second, "wait this long after submitting before reading the queued RSS")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "memory: -bin is required (go build -o /tmp/myriad ./cmd/myriad)")
		os.Exit(2)
	}
	if *jobs < 1 || *n%*jobs != 0 {
		fmt.Fprintln(os.Stderr, "memory: -jobs must divide -n")
		os.Exit(2)
	}
	if err := run(*bin, *n, *jobs, *workers, *slots, *settle); err != nil {
		fmt.Fprintln(os.Stderr, "memory:", err)
		os.Exit(1)
	}
}

func run(bin string, n, jobs, workers, slots int, settle time.Duration) error {
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			p.Process.Signal(syscall.SIGKILL)
			p.Wait()
		}
	}()
	dir, err := os.MkdirTemp("", "myriad-memory-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := exec.Command(bin, "server", "--listen", addr, "--data", dir, "--sync", "normal", "--log-level", "error",
		"--max-items", strconv.Itoa(max(n, 1)))
	if err := srv.Start(); err != nil {
		return err
	}
	procs = append(procs, srv)
	url := "http://" + addr
	c := client.New(url)
	ctx := context.Background()
	if err := waitFor(30*time.Second, func() bool { _, err := c.Jobs(ctx, "", 1); return err == nil }); err != nil {
		return fmt.Errorf("coordinator: %w", err)
	}
	pid := srv.Process.Pid
	idle, _ := rss(pid)
	peak := &peakSampler{pid: pid}
	stop := peak.start()
	began := time.Now()
	var ids []string
	for k := 0; k < jobs; k++ {
		items := make([]any, n/jobs)
		for i := range items {
			items[i] = k*(n/jobs) + i
		}
		sub, err := c.Submit(ctx, &spec.Job{Name: "memory", Input: spec.Input{Items: items}, Stages: []spec.Stage{{Op: "noop"}}})
		if err != nil {
			return err
		}
		ids = append(ids, sub.ID)
	}
	submitted := time.Since(began)
	queuedN := int64(0)
	for _, id := range ids {
		st, err := c.Job(ctx, id)
		if err != nil {
			return err
		}
		queuedN += st.Counts.Ready
	}
	if queuedN != int64(n) {
		return fmt.Errorf("%d microtasks ready, want %d", queuedN, n)
	}
	submitPeak := stop()
	// Let the Go runtime return to the OS what the submission used.
	time.Sleep(settle)
	queued, err := rss(pid)
	if err != nil {
		return err
	}
	fmt.Printf("microtasks=%d jobs=%d idle_rss=%s submit=%.1fs peak_rss_during_submit=%s queued_rss_after_%v=%s\n",
		n, jobs, mib(idle), submitted.Seconds(), mib(submitPeak), settle, mib(queued))
	if workers == 0 {
		return nil
	}
	stop = peak.start()
	for i := 0; i < workers; i++ {
		w := exec.Command(bin, "worker", "--server", url, "--slots", strconv.Itoa(slots), "--log-level", "error")
		if err := w.Start(); err != nil {
			return err
		}
		procs = append(procs, w)
	}
	began = time.Now()
	for _, id := range ids {
		st, err := c.Wait(ctx, id, nil)
		if err != nil {
			return err
		}
		if st.Counts.Done != int64(n/jobs) {
			return fmt.Errorf("job ended %s with %d of %d done", st.State, st.Counts.Done, n/jobs)
		}
	}
	workPeak := stop()
	after, _ := rss(pid)
	fmt.Printf("microtasks=%d workers=%d slots=%d drained in %.1fs (%.0f/s) peak_rss_while_working=%s rss_after=%s\n",
		n, workers, slots, time.Since(began).Seconds(), float64(n)/time.Since(began).Seconds(), mib(workPeak), mib(after))
	return nil
}

// peakSampler tracks a process's highest RSS between start and stop.
type peakSampler struct {
	pid int
}

func (p *peakSampler) start() (stop func() int64) {
	var mu sync.Mutex
	var peak int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := rss(p.pid); err == nil {
				mu.Lock()
				peak = max(peak, v)
				mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// rss reads a process's resident set size in bytes.
func rss(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

func mib(b int64) string { return fmt.Sprintf("%.0fMiB", float64(b)/(1<<20)) }

func waitFor(d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %v", d)
}

// shareToken gives this process and its children a fresh admin token
// (MYRIAD_ADMIN_TOKEN for the coordinator, MYRIAD_TOKEN for the rest).
func shareToken() {
	var b [20]byte
	crand.Read(b[:])
	tok := "myrt_" + hex.EncodeToString(b[:])
	os.Setenv("MYRIAD_ADMIN_TOKEN", tok)
	os.Setenv("MYRIAD_TOKEN", tok)
}
