// Command straggler measures how speculative execution copes with a slow
// host: one coordinator (SQLite), W worker processes of which one runs
// every microtask -slowdown times slower (myriad worker --slowdown), and
// one job of N sleep microtasks of -ms each. It compares the elapsed time
// with the ideal T = Σtᵢ / (M·c) over the healthy capacity (the W-1
// normal workers' slots), with speculation on and off, and prints one
// line per run:
//
//	go build -o /tmp/myriad ./cmd/myriad
//	go run ./bench/straggler -bin /tmp/myriad            # both modes
//	go run ./bench/straggler -bin /tmp/myriad -speculate=on -runs 3
package main

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/spec"
)

type params struct {
	bin       string
	workers   int
	slots     int
	n         int
	ms        int
	slowdown  float64
	speculate bool
}

func main() {
	// The processes this benchmark starts share one admin API token: the
	// coordinator accepts it, workers and the client send it.
	shareToken()
	var p params
	flag.StringVar(&p.bin, "bin", "", "the myriad binary (required)")
	flag.IntVar(&p.workers, "workers", 4, "worker processes, one of them slow")
	flag.IntVar(&p.slots, "slots", 2, "slots per worker (c)")
	flag.IntVar(&p.n, "n", 72, "microtasks")
	flag.IntVar(&p.ms, "ms", 500, "each microtask's time on a healthy worker, in ms (tᵢ)")
	flag.Float64Var(&p.slowdown, "slowdown", 10, "how many times slower the slow worker is")
	mode := flag.String("speculate", "both", "on, off or both")
	runs := flag.Int("runs", 1, "runs per mode")
	flag.Parse()
	if p.bin == "" || p.workers < 2 {
		fmt.Fprintln(os.Stderr, "straggler: -bin is required (go build -o /tmp/myriad ./cmd/myriad) and -workers must be at least 2")
		os.Exit(2)
	}
	var modes []bool
	switch *mode {
	case "on":
		modes = []bool{true}
	case "off":
		modes = []bool{false}
	case "both":
		modes = []bool{true, false}
	default:
		fmt.Fprintf(os.Stderr, "straggler: -speculate %q: want on, off or both\n", *mode)
		os.Exit(2)
	}
	ideal := time.Duration(p.n) * time.Duration(p.ms) * time.Millisecond / time.Duration((p.workers-1)*p.slots)
	for _, on := range modes {
		for r := 0; r < *runs; r++ {
			p.speculate = on
			elapsed, err := run(p)
			if err != nil {
				fmt.Fprintln(os.Stderr, "straggler:", err)
				os.Exit(1)
			}
			fmt.Printf("speculate=%-5v workers=%d (1 at %gx) slots=%d n=%d t=%dms  ideal=%.2fs elapsed=%.2fs  ratio=%.2f\n",
				on, p.workers, p.slowdown, p.slots, p.n, p.ms, ideal.Seconds(), elapsed.Seconds(), elapsed.Seconds()/ideal.Seconds())
		}
	}
}

func run(p params) (time.Duration, error) {
	var procs []*exec.Cmd
	defer func() {
		for _, c := range procs {
			c.Process.Signal(syscall.SIGKILL)
			c.Wait()
		}
	}()
	startProc := func(args ...string) error {
		cmd := exec.Command(p.bin, args...)
		if err := cmd.Start(); err != nil {
			return err
		}
		procs = append(procs, cmd)
		return nil
	}
	dir, err := os.MkdirTemp("", "myriad-straggler-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	addr := ln.Addr().String()
	ln.Close()
	if err := startProc("server", "--listen", addr, "--data", dir, "--sync", "normal", "--log-level", "error",
		fmt.Sprintf("--speculate=%v", p.speculate)); err != nil {
		return 0, err
	}
	url := "http://" + addr
	c := client.New(url)
	ctx := context.Background()
	if err := waitFor(func() bool { _, err := c.Jobs(ctx, "", 1); return err == nil }); err != nil {
		return 0, fmt.Errorf("coordinator: %w", err)
	}
	for i := 0; i < p.workers; i++ {
		args := []string{"worker", "--server", url, "--slots", fmt.Sprint(p.slots), "--name", fmt.Sprintf("w%d", i), "--log-level", "error"}
		if i == 0 {
			args = append(args, "--slowdown", fmt.Sprint(p.slowdown))
		}
		if err := startProc(args...); err != nil {
			return 0, err
		}
	}
	// All workers connected before the job, so the slow one gets its
	// share from the start and the clock measures the engine.
	if err := waitFor(func() bool { ws, err := c.Workers(ctx); return err == nil && len(ws) >= p.workers }); err != nil {
		return 0, fmt.Errorf("workers: %w", err)
	}
	items := make([]any, p.n)
	for i := range items {
		items[i] = i
	}
	job := &spec.Job{Name: "straggler", Input: spec.Input{Items: items}, Stages: []spec.Stage{{Op: "sleep", Params: map[string]any{"ms": p.ms}}}}
	began := time.Now()
	sub, err := c.Submit(ctx, job)
	if err != nil {
		return 0, err
	}
	st, err := c.Wait(ctx, sub.ID, nil)
	if err != nil {
		return 0, err
	}
	elapsed := time.Since(began)
	if st.Counts.Done != int64(p.n) {
		return 0, fmt.Errorf("job ended %s with %d of %d done", st.State, st.Counts.Done, p.n)
	}
	return elapsed, nil
}

func waitFor(cond func() bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("not ready after 30s")
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
