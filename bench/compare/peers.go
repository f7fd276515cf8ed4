package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed dask_bench.py
var daskScript []byte

//go:embed setup.sh
var setupScript []byte

// python is Debian's interpreter, which python3-distributed installs into
// (a python3 earlier in PATH, e.g. pyenv's, would not see it).
const python = "/usr/bin/python3"

// haveDask reports whether Dask distributed can be imported.
func haveDask() bool {
	return exec.Command(python, "-c", "import distributed").Run() == nil
}

// haveParallel reports whether GNU parallel is installed.
func haveParallel() bool {
	out, err := exec.Command("parallel", "--version").Output()
	return err == nil && bytes.Contains(out, []byte("GNU parallel"))
}

// setupPeers installs the peers with apt-get when missing (setup.sh).
func setupPeers(ctx context.Context) error {
	if haveDask() && haveParallel() {
		return nil
	}
	cmd := exec.CommandContext(ctx, "bash", "-c", string(setupScript))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("install peers (bench/compare/setup.sh): %w", err)
	}
	return nil
}

type daskOut struct {
	Seconds   float64   `json:"seconds"`
	Latencies []float64 `json:"latencies"`
}

// dask runs one scenario of dask_bench.py.
func dask(ctx context.Context, args ...string) (*daskOut, error) {
	dir, err := os.MkdirTemp("", "myriad-compare-dask-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "dask_bench.py")
	if err := os.WriteFile(script, daskScript, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, python, append([]string{script}, args...)...)
	cmd.Dir = dir // Dask's worker folders go here
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("dask %s: %w: %s", strings.Join(args, " "), err, lastLine(stderr.String()))
	}
	var d daskOut
	if err := json.Unmarshal(out, &d); err != nil {
		return nil, fmt.Errorf("dask %s: %w: %q", strings.Join(args, " "), err, out)
	}
	return &d, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func daskNoop(ctx context.Context, cfg *config) (float64, error) {
	d, err := dask(ctx, "noop", strconv.Itoa(cfg.noopN), strconv.Itoa(cfg.workers), strconv.Itoa(cfg.slots))
	if err != nil {
		return 0, err
	}
	return float64(cfg.noopN) / d.Seconds, nil
}

func daskSleep(ctx context.Context, cfg *config) (time.Duration, error) {
	d, err := dask(ctx, "sleep", strconv.Itoa(cfg.sleepN), "1", strconv.Itoa(cfg.parSlots), strconv.Itoa(cfg.sleepMS))
	if err != nil {
		return 0, err
	}
	return seconds(d.Seconds), nil
}

// daskLatency times submit → the function starting (by the function's
// own clock), one future at a time on an idle cluster.
func daskLatency(ctx context.Context, cfg *config) (p50, p99 time.Duration, err error) {
	d, err := dask(ctx, "latency", strconv.Itoa(cfg.latencyN), "1", strconv.Itoa(cfg.parSlots))
	if err != nil {
		return 0, 0, err
	}
	if len(d.Latencies) == 0 {
		return 0, 0, errors.New("dask latency: no samples")
	}
	lat := slices.Clone(d.Latencies)
	slices.Sort(lat)
	pick := func(q float64) time.Duration {
		i := min(int(q*float64(len(lat))), len(lat)-1)
		return seconds(lat[i])
	}
	return pick(0.5), pick(0.99), nil
}

// gnuParallel runs n lines of `true` through GNU parallel with c jobs at
// once and returns the makespan.
func gnuParallel(ctx context.Context, n, c int) (time.Duration, error) {
	cmds := strings.Repeat("true\n", n)
	cmd := exec.CommandContext(ctx, "parallel", "--will-cite", "-j", strconv.Itoa(c))
	cmd.Stdin = strings.NewReader(cmds)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	began := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("gnu parallel: %w: %s", err, lastLine(stderr.String()))
	}
	return time.Since(began), nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
