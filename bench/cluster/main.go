// Command cluster measures end-to-end throughput (microtasks per second)
// of real myriad processes: N coordinators on one store (SQLite in a data
// folder for N=1, or a shared PostgreSQL database), W worker processes
// given every coordinator's URL, and one job of no-op microtasks
// submitted to the first coordinator. It prints one line per run.
//
//	go build -o /tmp/myriad ./cmd/myriad
//	go run ./bench/cluster -bin /tmp/myriad -store sqlite -coordinators 1
//	go run ./bench/cluster -bin /tmp/myriad -store postgres://postgres@127.0.0.1:5432/test -coordinators 2
//
// With a postgres:// store each run gets a schema of its own, dropped at
// the end.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/spec"
)

func main() {
	bin := flag.String("bin", "", "the myriad binary (required)")
	storeArg := flag.String("store", "sqlite", `"sqlite" or a postgres:// URL`)
	coords := flag.Int("coordinators", 1, "coordinator processes")
	workers := flag.Int("workers", 4, "worker processes")
	slots := flag.Int("slots", 8, "slots per worker")
	n := flag.Int("n", 20000, "microtasks")
	runs := flag.Int("runs", 1, "runs (a fresh store each)")
	syncMode := flag.String("sync", "full", "the servers' --sync: full (flush each commit) or normal")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "cluster: -bin is required (go build -o /tmp/myriad ./cmd/myriad)")
		os.Exit(2)
	}
	if *storeArg == "sqlite" && *coords != 1 {
		fmt.Fprintln(os.Stderr, "cluster: SQLite serves one coordinator; use a postgres:// store for more")
		os.Exit(2)
	}
	for r := 0; r < *runs; r++ {
		rate, err := run(*bin, *storeArg, *syncMode, *coords, *workers, *slots, *n)
		if err != nil {
			fmt.Fprintln(os.Stderr, "cluster:", err)
			os.Exit(1)
		}
		kind := "sqlite"
		if *storeArg != "sqlite" {
			kind = "postgres"
		}
		fmt.Printf("store=%s sync=%s coordinators=%d workers=%d slots=%d microtasks=%d  %.0f microtasks/s\n", kind, *syncMode, *coords, *workers, *slots, *n, rate)
	}
}

// benchToken is the admin token of the coordinators a run starts.
var benchToken = func() string {
	var b [20]byte
	rand.Read(b[:])
	return "myrt_" + hex.EncodeToString(b[:])
}()

func run(bin, storeArg, syncMode string, coords, workers, slots, n int) (float64, error) {
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			p.Process.Signal(syscall.SIGKILL)
			p.Wait()
		}
	}()
	startProc := func(args ...string) error {
		cmd := exec.Command(bin, args...)
		// Every process of the run shares one admin token.
		cmd.Env = append(os.Environ(), "MYRIAD_ADMIN_TOKEN="+benchToken, "MYRIAD_TOKEN="+benchToken)
		cmd.Stdout, cmd.Stderr = nil, nil
		if err := cmd.Start(); err != nil {
			return err
		}
		procs = append(procs, cmd)
		return nil
	}
	storeFlag := []string{}
	if storeArg == "sqlite" {
		dir, err := os.MkdirTemp("", "myriad-bench-")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dir)
		storeFlag = []string{"--data", dir, "--sync", syncMode}
	} else {
		u, drop, err := freshSchema(storeArg)
		if err != nil {
			return 0, err
		}
		defer drop()
		storeFlag = []string{"--store", u, "--sync", syncMode}
	}
	var urls []string
	for i := 0; i < coords; i++ {
		addr, err := freeAddr()
		if err != nil {
			return 0, err
		}
		if err := startProc(append([]string{"server", "--listen", addr, "--log-level", "error"}, storeFlag...)...); err != nil {
			return 0, err
		}
		urls = append(urls, "http://"+addr)
		if err := waitReady(urls[i]); err != nil {
			return 0, err
		}
	}
	for i := 0; i < workers; i++ {
		// Spread the workers: each starts with a different coordinator.
		order := append(append([]string{}, urls[i%len(urls):]...), urls[:i%len(urls)]...)
		if err := startProc("worker", "--server", strings.Join(order, ","), "--slots", fmt.Sprint(slots), "--log-level", "error"); err != nil {
			return 0, err
		}
	}
	c := client.New(urls[0], client.WithToken(benchToken))
	ctx := context.Background()
	// Wait until the workers are connected, so the clock measures the
	// engine, not process start-up.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ws, err := c.Workers(ctx)
		if err == nil && len(ws) >= workers {
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("workers did not connect")
		}
		time.Sleep(50 * time.Millisecond)
	}
	items := make([]any, n)
	for i := range items {
		items[i] = i
	}
	job := &spec.Job{Name: "bench", Input: spec.Input{Items: items}, Stages: []spec.Stage{{Op: "noop"}}}
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
	if st.Counts.Done != int64(n) {
		return 0, fmt.Errorf("job ended %s with %d of %d done", st.State, st.Counts.Done, n)
	}
	return float64(n) / elapsed.Seconds(), nil
}

func freshSchema(base string) (string, func(), error) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, err
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "bench_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		conn.Close(ctx)
		return "", nil, err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		conn.Close(ctx)
	}, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitReady(u string) error {
	c := client.New(u, client.WithToken(benchToken))
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := c.Jobs(context.Background(), "", 1); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s did not become ready", u)
}
