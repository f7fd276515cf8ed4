// Command chaos runs one job through real myriad processes while a killer
// SIGKILLs the coordinator and the workers at random moments, then checks
// that every item has exactly one committed result, equal to the expected
// value, in the store (the SQLite file, opened read-only after the run)
// and through the API, and that `myriad status` counts what the store
// holds. It prints one summary line and exits 1 if anything was lost,
// doubled or wrong.
//
//	go run ./bench/chaos                                  # 20 000 microtasks, 10 coordinator and 20 worker kills, 5 freezes, 5 drains
//	go run ./bench/chaos -n 2000 -coord-kills 3 -worker-kills 5 -seed 7
//
// Without -bin it builds the myriad binary into its run folder first.
// The seed fixes the items, the kill schedule (the progress at which each
// kill happens), which worker is killed and the restart delays; the
// moments themselves depend on how fast the machine runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	var cfg Config
	flag.StringVar(&cfg.Bin, "bin", "", "the myriad binary (default: build it from this module)")
	flag.IntVar(&cfg.N, "n", 20000, "microtasks: n/2 items, each through two stages (sleep, then hash)")
	flag.IntVar(&cfg.Workers, "workers", 4, "worker processes")
	flag.IntVar(&cfg.Slots, "slots", 4, "slots per worker")
	flag.IntVar(&cfg.CoordKills, "coord-kills", 10, "times the coordinator is SIGKILLed (and restarted on the same data and port)")
	flag.IntVar(&cfg.WorkerKills, "worker-kills", 20, "times a worker is SIGKILLed (and restarted)")
	flag.IntVar(&cfg.Freezes, "freezes", 5, "times a worker is frozen (SIGSTOP) past the lease TTL, then continued")
	flag.IntVar(&cfg.Terms, "drains", 5, "times a worker is sent SIGTERM (it drains and exits) and started again")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "seed of the items and the kill schedule")
	flag.DurationVar(&cfg.LeaseTTL, "lease-ttl", time.Second, "the coordinator's --lease-ttl")
	flag.IntVar(&cfg.Rounds, "rounds", 1000, "SHA-256 rounds per item in the hash stage")
	flag.IntVar(&cfg.SleepMS, "sleep-ms", 5, "how long each microtask of the first stage sleeps")
	flag.StringVar(&cfg.Sync, "sync", "full", "the coordinator's --sync: full or normal")
	flag.DurationVar(&cfg.Timeout, "timeout", 15*time.Minute, "give up after this long")
	flag.StringVar(&cfg.Dir, "dir", "", "run folder for data and process logs (default a temporary one, removed unless -keep or a failure)")
	flag.BoolVar(&cfg.Keep, "keep", false, "keep the run folder")
	verbose := flag.Bool("v", false, "print each kill and restart to stderr")
	flag.Parse()
	if *verbose {
		cfg.Log = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		if sum != nil && sum.Dir != "" {
			fmt.Fprintln(os.Stderr, "chaos: run folder (data and process logs):", sum.Dir)
		}
		if errors.Is(err, errBadConfig) {
			os.Exit(2)
		}
		os.Exit(1)
	}
	fmt.Println(sum)
	if !sum.OK() {
		for _, p := range sum.Problems {
			fmt.Fprintln(os.Stderr, "chaos:", p)
		}
		os.Exit(1)
	}
}
