package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/store/sqlite"
)

// Config is one chaos run.
type Config struct {
	// Bin is the myriad binary; empty builds it into Dir.
	Bin string
	// N is the number of microtasks, one item each.
	N int
	// Workers and Slots size the worker pool.
	Workers, Slots int
	// CoordKills and WorkerKills are how many SIGKILLs each gets.
	CoordKills, WorkerKills int
	// Freezes is how many times a worker is stopped (SIGSTOP) for
	// longer than the lease TTL and then continued.
	Freezes int
	// Terms is how many times a worker is sent SIGTERM (it drains and
	// exits) and started again.
	Terms int
	// Seed fixes the items and the kill schedule.
	Seed uint64
	// LeaseTTL is the coordinator's lease TTL.
	LeaseTTL time.Duration
	// Rounds is the SHA-256 rounds per item of the hash stage.
	Rounds int
	// SleepMS is how long each microtask of the first stage takes.
	SleepMS int
	// Sync is the coordinator's store durability (full or normal).
	Sync string
	// Timeout bounds the whole run.
	Timeout time.Duration
	// Dir is the run folder; empty makes a temporary one.
	Dir string
	// Keep keeps the run folder (it is also kept when the run fails).
	Keep bool
	// Log, if set, receives a line per kill and restart.
	Log io.Writer
}

// errBadConfig marks a Config that cannot be run.
var errBadConfig = errors.New("bad flags")

// Summary is what a run found.
type Summary struct {
	N, Workers                  int
	Seed                        uint64
	CoordKills, CoordRestarts   int
	WorkerKills, WorkerRestarts int
	Freezes                     int
	Terms                       int // graceful stops (SIGTERM, drain, restart)
	Refused                     int // late results the coordinator refused (from the workers' logs)
	Lost, Doubled, Wrong        int
	Retried                     int // microtasks leased more than once (the chaos reached them)
	StatusMismatch              bool
	Elapsed                     time.Duration
	Dir                         string // the run folder, if kept
	Problems                    []string
}

// OK reports whether every item has exactly one correct result and the
// status counts match the store.
func (s *Summary) OK() bool {
	return s.Lost == 0 && s.Doubled == 0 && s.Wrong == 0 && !s.StatusMismatch && len(s.Problems) == 0
}

func (s *Summary) String() string {
	status := "match"
	if s.StatusMismatch {
		status = "MISMATCH"
	}
	line := fmt.Sprintf("chaos: microtasks=%d workers=%d seed=%d kills=%d (coordinator=%d worker=%d) restarts=%d freezes=%d drains=%d retried=%d refused=%d lost=%d doubled=%d wrong=%d status=%s elapsed=%s",
		s.N, s.Workers, s.Seed, s.CoordKills+s.WorkerKills, s.CoordKills, s.WorkerKills, s.CoordRestarts+s.WorkerRestarts, s.Freezes, s.Terms, s.Retried, s.Refused,
		s.Lost, s.Doubled, s.Wrong, status, s.Elapsed.Round(100*time.Millisecond))
	if s.Dir != "" {
		line += " dir=" + s.Dir
	}
	return line
}

func (s *Summary) problem(format string, args ...any) {
	if len(s.Problems) < 20 {
		s.Problems = append(s.Problems, fmt.Sprintf(format, args...))
	}
}

func (c *Config) defaults() {
	c.N = cmp.Or(c.N, 20000)
	c.Workers = cmp.Or(c.Workers, 4)
	c.Slots = cmp.Or(c.Slots, 4)
	c.LeaseTTL = cmp.Or(c.LeaseTTL, time.Second)
	c.Sync = cmp.Or(c.Sync, "full")
	c.Timeout = cmp.Or(c.Timeout, 15*time.Minute)
	if c.Log == nil {
		c.Log = io.Discard
	}
}

func (c *Config) validate() error {
	switch {
	case c.N < 2 || c.N%2 != 0:
		return fmt.Errorf("-n %d: want an even number, at least 2 (two stages of n/2 items)", c.N)
	case c.SleepMS < 0:
		return fmt.Errorf("-sleep-ms %d is negative", c.SleepMS)
	case c.Workers < 1:
		return fmt.Errorf("-workers %d: want at least 1", c.Workers)
	case c.CoordKills < 0 || c.WorkerKills < 0 || c.Freezes < 0 || c.Terms < 0:
		return errors.New("-coord-kills, -worker-kills, -freezes and -drains must not be negative")
	case c.CoordKills+c.WorkerKills+c.Freezes+c.Terms > c.N/4:
		return fmt.Errorf("%d events for %d microtasks: want at most one per 4 microtasks", c.CoordKills+c.WorkerKills+c.Freezes+c.Terms, c.N)
	case c.Rounds < 0:
		return fmt.Errorf("-rounds %d is negative", c.Rounds)
	}
	return nil
}

// cluster is the processes of a run.
type cluster struct {
	cfg     *Config
	dir     string
	data    string
	addr    string
	url     string
	coord   *proc
	workers []*proc
	sum     *Summary
	rng     *rand.Rand
	wg      sync.WaitGroup // freezes in progress
}

// Run runs the job under the killer and checks the outcome. It returns
// an error when the run could not be carried out (a process would not
// start, the job did not end in time); lost, doubled or wrong results are
// in the summary.
func Run(ctx context.Context, cfg Config) (sum *Summary, err error) {
	cfg.defaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadConfig, err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	dir := cfg.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "myriad-chaos-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	sum = &Summary{N: cfg.N, Workers: cfg.Workers, Seed: cfg.Seed}
	defer func() {
		if cfg.Keep || cfg.Dir != "" || err != nil || !sum.OK() {
			sum.Dir = dir
		} else {
			os.RemoveAll(dir)
		}
	}()
	if cfg.Bin == "" {
		cfg.Bin = filepath.Join(dir, "myriad")
		build := exec.CommandContext(ctx, "go", "build", "-o", cfg.Bin, "github.com/myriadhq/myriad/cmd/myriad")
		if out, err := build.CombinedOutput(); err != nil {
			return sum, fmt.Errorf("build myriad: %w\n%s", err, out)
		}
	}
	addr, err := freeAddr()
	if err != nil {
		return sum, err
	}
	cl := &cluster{cfg: &cfg, dir: dir, data: filepath.Join(dir, "data"), addr: addr, url: "http://" + addr, sum: sum,
		rng: rand.New(rand.NewPCG(cfg.Seed, 0x6368616f73))}
	defer cl.killAll()
	if err := cl.startCoord(ctx); err != nil {
		return sum, err
	}
	for i := range cfg.Workers {
		p, err := cl.startWorker(i)
		if err != nil {
			return sum, err
		}
		cl.workers = append(cl.workers, p)
	}
	c := client.New(cl.url, client.WithToken(chaosToken))
	if err := waitWorkers(ctx, c, cfg.Workers); err != nil {
		return sum, err
	}
	began := time.Now()
	sub, err := c.Submit(ctx, chaosJob(cfg.N, cfg.Seed, cfg.Rounds, cfg.SleepMS))
	if err != nil {
		return sum, fmt.Errorf("submit: %w", err)
	}
	err = cl.killer(ctx, c, sub.ID)
	cl.wg.Wait() // frozen workers are continued
	if err != nil {
		return sum, err
	}
	if err := waitFinal(ctx, c, sub.ID); err != nil {
		return sum, err
	}
	sum.Elapsed = time.Since(began)
	status, err := cl.statusCounts(ctx, sub.ID)
	if err != nil {
		return sum, err
	}
	apiRes, err := apiResults(ctx, c, sub.ID, stageNames)
	if err != nil {
		return sum, err
	}
	// Stop everything cleanly, then read the store as it is on disk.
	for _, w := range cl.workers {
		if !w.stop(30 * time.Second) {
			sum.problem("%s did not exit cleanly on SIGTERM (see %s)", w.name, w.log.Name())
		}
	}
	if !cl.coord.stop(30 * time.Second) {
		sum.problem("the coordinator did not exit cleanly on SIGTERM (see %s)", cl.coord.log.Name())
	}
	st, err := readStore(ctx, filepath.Join(cl.data, sqlite.FileName), sub.ID)
	if err != nil {
		return sum, err
	}
	check(sum, &cfg, st, apiRes, status)
	sum.Refused = countInLogs(dir, "w*.log", `msg="result refused"`)
	return sum, nil
}

// Stages of the chaos job, in order.
var stageNames = []string{"wait", "hash"}

// chaosJob is n/2 string items through two stages, one microtask per
// item each: "wait" (the sleep operator: the item unchanged, after
// sleepMS) and then "hash" (its SHA-256). Items flow to the second stage
// as they finish the first, so kills land on both. Retries are high
// enough that killed workers cannot make a microtask dead.
func chaosJob(n int, seed uint64, rounds, sleepMS int) *spec.Job {
	items := make([]any, n/2)
	for i := range items {
		items[i] = itemData(seed, i)
	}
	retries := spec.MaxRetries
	return &spec.Job{Name: "chaos", Input: spec.Input{Items: items}, Stages: []spec.Stage{
		{Name: stageNames[0], Op: "sleep", Params: map[string]any{"ms": sleepMS}, Retries: &retries, Backoff: "50ms"},
		{Name: stageNames[1], Op: "hash", Params: map[string]any{"rounds": rounds}, Retries: &retries, Backoff: "50ms", After: []string{stageNames[0]}},
	}}
}

func itemData(seed uint64, i int) string { return fmt.Sprintf("chaos-%d-%d", seed, i) }

func (cl *cluster) startCoord(ctx context.Context) error {
	p, err := startProc("coordinator", cl.cfg.Bin, filepath.Join(cl.dir, "coordinator.log"),
		"server", "--listen", cl.addr, "--data", cl.data, "--sync", cl.cfg.Sync,
		"--lease-ttl", cl.cfg.LeaseTTL.String(), "--log-level", "info")
	if err != nil {
		return err
	}
	cl.coord = p
	return waitReady(ctx, cl.url, p)
}

func (cl *cluster) startWorker(i int) (*proc, error) {
	name := fmt.Sprintf("w%d", i)
	return startProc("worker "+name, cl.cfg.Bin, filepath.Join(cl.dir, name+".log"),
		"worker", "--server", cl.url, "--slots", fmt.Sprint(cl.cfg.Slots), "--name", name,
		"--drain-timeout", "10s", "--log-level", "info")
}

func (cl *cluster) killAll() {
	for _, w := range cl.workers {
		if w != nil {
			w.kill()
		}
	}
	if cl.coord != nil {
		cl.coord.kill()
	}
}

// statusCounts runs `myriad status JOB --json` and returns its counts.
func (cl *cluster) statusCounts(ctx context.Context, id string) (*statusOut, error) {
	cmd := exec.CommandContext(ctx, cl.cfg.Bin, "status", id, "--json", "--server", cl.url)
	cmd.Env = tokenEnv()
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("myriad status: %w", err)
	}
	return parseStatus(out)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("pick a port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitReady polls the coordinator until it answers.
func waitReady(ctx context.Context, url string, p *proc) error {
	c := client.New(url, client.WithToken(chaosToken))
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := c.Jobs(rctx, "", 1)
		rcancel()
		if err == nil {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("the coordinator exited at start (see %s)", p.log.Name())
		}
		if ctx.Err() != nil {
			return fmt.Errorf("the coordinator did not answer within a minute: %w", err)
		}
		pause(ctx, 20*time.Millisecond)
	}
}

func waitWorkers(ctx context.Context, c *client.Client, n int) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		ws, err := c.Workers(ctx)
		if err == nil && len(ws) >= n {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%d workers did not connect within a minute", n)
		}
		pause(ctx, 20*time.Millisecond)
	}
}

// waitFinal polls the job until it ends, riding out a coordinator that
// is restarting.
func waitFinal(ctx context.Context, c *client.Client, id string) error {
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := c.Job(rctx, id)
		cancel()
		if err == nil && st.State.Final() {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("the job did not end in time: %w", ctx.Err())
		}
		pause(ctx, 50*time.Millisecond)
	}
}

func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func shuffled[T any](rng *rand.Rand, s []T) []T {
	s = slices.Clone(s)
	rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	return s
}

// countInLogs counts the lines holding s in the run's log files.
func countInLogs(dir, pattern, s string) int {
	files, _ := filepath.Glob(filepath.Join(dir, pattern))
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil {
			n += bytes.Count(b, []byte(s))
		}
	}
	return n
}
