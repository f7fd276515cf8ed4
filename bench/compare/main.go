// Command compare measures myriad's overhead per microtask side by side
// with Dask distributed and GNU parallel, in one run on one machine
// (issue 3), and prints a table with the ratio myriad/peer per figure:
//
//  1. no-op throughput: microtasks per second, end to end (coordinator
//     with the embedded SQLite store, workers as separate processes over
//     HTTP), against Dask's LocalCluster with client.map + gather;
//  2. parallel efficiency of microtasks sleeping 10 ms on 8 slots:
//     Σtᵢ/(M·c) ÷ makespan, against Dask with 8 threads;
//  3. exec overhead: `true` run as exec microtasks, against GNU parallel
//     running the same command list with the same concurrency;
//  4. scale: time to accept 1 000 000 microtasks, the coordinator's peak
//     RSS, then throughput while they drain;
//  5. latency from a microtask becoming ready to starting on an idle
//     worker, p50 and p99.
//
// Usage, from the repository:
//
//	go run ./bench/compare                 # everything, full counts
//	go run ./bench/compare -quick          # small counts (a minute or two)
//	go run ./bench/compare -peers=false    # myriad only
//
// The peers (Debian's python3-distributed and parallel) are installed by
// the set-up step (setup.sh, apt-get) when missing; -setup=false skips it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/myriadhq/myriad/bench/internal/procs"
)

// config holds the counts and shapes of one run.
type config struct {
	bin             string
	sync            string
	workers, slots  int    // worker processes and slots each (no-op, scale)
	parSlots        int    // slots of the one worker of the sleep, exec and latency runs
	prefetch        string // workers' --prefetch: auto, or a multiple of their slots
	noopN           int
	sleepN, sleepMS int
	execN           int
	scaleN          int
	drain           time.Duration
	latencyN        int
	peers           bool // run the peers at all (those installed)
	dask, parallel  bool // the peers to run; run sets them from peers when it is true
	scenarios       map[string]bool
	progress        func(format string, args ...any)
}

var allScenarios = []string{"noop", "sleep", "exec", "scale", "latency"}

func main() {
	cfg := &config{}
	flag.StringVar(&cfg.bin, "bin", "", "the myriad binary (default: build it)")
	flag.StringVar(&cfg.sync, "sync", "full", "the coordinators' --sync (full: each commit reaches the disk)")
	flag.IntVar(&cfg.workers, "workers", 4, "worker processes for the no-op and scale runs (Dask: worker processes)")
	flag.IntVar(&cfg.slots, "slots", 8, "slots per worker for the no-op and scale runs (Dask: threads per worker)")
	flag.IntVar(&cfg.parSlots, "c", 8, "slots (Dask threads, GNU parallel jobs) for the sleep, exec and latency runs")
	flag.StringVar(&cfg.prefetch, "prefetch", "auto", "workers' --prefetch: auto (the worker's default), or a multiple of their slots (0: none)")
	flag.IntVar(&cfg.noopN, "noop", 100_000, "no-op microtasks")
	flag.IntVar(&cfg.sleepN, "sleep", 2000, "sleeping microtasks")
	flag.IntVar(&cfg.sleepMS, "sleep-ms", 10, "how long each sleeps, ms")
	flag.IntVar(&cfg.execN, "exec", 2000, "exec microtasks running true")
	flag.IntVar(&cfg.scaleN, "scale", 1_000_000, "microtasks submitted at once")
	flag.DurationVar(&cfg.drain, "drain", 60*time.Second, "how long to measure the drain of the scale run (it stops earlier when done)")
	flag.IntVar(&cfg.latencyN, "latency", 200, "samples of the ready-to-start latency")
	flag.BoolVar(&cfg.peers, "peers", true, "run Dask and GNU parallel too")
	setup := flag.Bool("setup", true, "install missing peers with apt-get first")
	quick := flag.Bool("quick", false, "small counts: 10 000 no-op, 500 sleep/exec, 100 000 scale, 100 latency")
	only := flag.String("only", strings.Join(allScenarios, ","), "scenarios to run")
	flag.Parse()
	if *quick {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range map[string]*int{"noop": &cfg.noopN, "sleep": &cfg.sleepN, "exec": &cfg.execN, "scale": &cfg.scaleN, "latency": &cfg.latencyN} {
			if !set[name] { // counts given on the command line win
				*v = map[string]int{"noop": 10_000, "sleep": 500, "exec": 500, "scale": 100_000, "latency": 100}[name]
			}
		}
	}
	cfg.scenarios = map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		cfg.scenarios[strings.TrimSpace(s)] = true
	}
	cfg.progress = func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "compare: "+format+"\n", args...)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cleanup, err := prepare(ctx, cfg, *setup)
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
	fmt.Printf("load before: %s\n", loadAvg())
	rows, err := run(ctx, cfg)
	printTable(os.Stdout, rows)
	fmt.Printf("load after: %s\n", loadAvg())
	cleanup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

// prepare builds the binary unless given and installs the peers as
// asked; cleanup removes what it built.
func prepare(ctx context.Context, cfg *config, setup bool) (cleanup func(), err error) {
	cleanup = func() {}
	if cfg.bin == "" {
		bin, rm, err := procs.Build()
		if err != nil {
			return nil, err
		}
		cfg.bin, cleanup = bin, rm
	}
	if cfg.peers && setup {
		if err := setupPeers(ctx); err != nil {
			cleanup()
			return nil, err
		}
	}
	return cleanup, nil
}

// loadAvg is the machine's load, as uptime prints it.
func loadAvg() string {
	out, err := exec.Command("uptime").Output()
	if err != nil {
		data, _ := os.ReadFile("/proc/loadavg")
		return strings.TrimSpace(string(data))
	}
	return strings.TrimSpace(string(out))
}
