package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/myriadhq/myriad/bench/internal/procs"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/spec"
)

// engine is one fresh coordinator (its own SQLite data folder, full
// sync) and its worker processes.
type engine struct {
	ps     *procs.Set
	dir    string
	url    string
	server *exec.Cmd
	c      *client.Client
}

func startEngine(bin string, sync string) (*engine, error) {
	dir, err := os.MkdirTemp("", "myriad-compare-")
	if err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	e := &engine{ps: procs.New(bin), dir: dir}
	e.url, e.server, err = e.ps.StartServer("--data", dir, "--sync", sync)
	if err != nil {
		e.stop()
		return nil, err
	}
	e.c = procs.Client(e.url)
	return e, nil
}

// workers starts n worker processes of slots slots and waits for them;
// prefetch is auto or a multiple of slots.
func (e *engine) workers(n, slots int, prefetch string) error {
	if k, err := strconv.Atoi(prefetch); err == nil {
		prefetch = strconv.Itoa(k * slots)
	}
	if err := e.ps.StartWorkers([]string{e.url}, n, slots, "--prefetch", prefetch, "--exec-allow", "true"); err != nil {
		return err
	}
	return procs.WaitWorkers(e.c, n, 60*time.Second)
}

func (e *engine) stop() {
	e.ps.Stop()
	os.RemoveAll(e.dir)
}

func intItems(n int) []any {
	items := make([]any, n)
	for i := range items {
		items[i] = i
	}
	return items
}

// runJob submits a one-stage job of n items and waits for it to end; it
// returns the time from submission to the end.
func (e *engine) runJob(ctx context.Context, n int, st spec.Stage) (time.Duration, error) {
	job := &spec.Job{Name: "compare", Input: spec.Input{Items: intItems(n)}, Stages: []spec.Stage{st}}
	began := time.Now()
	sub, err := e.c.Submit(ctx, job)
	if err != nil {
		return 0, fmt.Errorf("submit: %w", err)
	}
	s, err := e.c.Wait(ctx, sub.ID, nil)
	if err != nil {
		return 0, fmt.Errorf("wait: %w", err)
	}
	elapsed := time.Since(began)
	if s.Counts.Done != int64(n) {
		return 0, fmt.Errorf("job ended %s with %d of %d done", s.State, s.Counts.Done, n)
	}
	return elapsed, nil
}

// myriadNoop is scenario 1: n no-op microtasks, microtasks per second.
func myriadNoop(ctx context.Context, cfg *config) (float64, error) {
	e, err := startEngine(cfg.bin, cfg.sync)
	if err != nil {
		return 0, err
	}
	defer e.stop()
	if err := e.workers(cfg.workers, cfg.slots, cfg.prefetch); err != nil {
		return 0, err
	}
	d, err := e.runJob(ctx, cfg.noopN, spec.Stage{Op: "noop"})
	if err != nil {
		return 0, fmt.Errorf("no-op: %w", err)
	}
	return float64(cfg.noopN) / d.Seconds(), nil
}

// myriadSleep is scenario 2: the makespan of n microtasks sleeping ms
// each on one worker of c slots.
func myriadSleep(ctx context.Context, cfg *config) (time.Duration, error) {
	e, err := startEngine(cfg.bin, cfg.sync)
	if err != nil {
		return 0, err
	}
	defer e.stop()
	if err := e.workers(1, cfg.parSlots, cfg.prefetch); err != nil {
		return 0, err
	}
	d, err := e.runJob(ctx, cfg.sleepN, spec.Stage{Op: "sleep", Params: map[string]any{"ms": cfg.sleepMS}})
	if err != nil {
		return 0, fmt.Errorf("sleep: %w", err)
	}
	return d, nil
}

// myriadExec is scenario 3: the makespan of n exec microtasks running
// `true` on one worker of c slots.
func myriadExec(ctx context.Context, cfg *config) (time.Duration, error) {
	e, err := startEngine(cfg.bin, cfg.sync)
	if err != nil {
		return 0, err
	}
	defer e.stop()
	if err := e.workers(1, cfg.parSlots, cfg.prefetch); err != nil {
		return 0, err
	}
	d, err := e.runJob(ctx, cfg.execN, spec.Stage{Op: "exec", Params: map[string]any{"command": []string{"true"}}})
	if err != nil {
		return 0, fmt.Errorf("exec: %w", err)
	}
	return d, nil
}

// scaleResult is scenario 4.
type scaleResult struct {
	accept    time.Duration
	rssAccept int64 // peak RSS once accepted
	rssPeak   int64 // peak RSS at the end of the drain window
	drained   int64
	drainRate float64
}

// myriadScale submits n microtasks with no worker connected, times the
// acceptance, then starts the workers and measures the throughput over
// the drain window (or until done).
func myriadScale(ctx context.Context, cfg *config) (*scaleResult, error) {
	e, err := startEngine(cfg.bin, cfg.sync)
	if err != nil {
		return nil, err
	}
	defer e.stop()
	job := &spec.Job{Name: "scale", Input: spec.Input{Items: intItems(cfg.scaleN)}, Stages: []spec.Stage{{Op: "noop"}}}
	r := &scaleResult{}
	began := time.Now()
	sub, err := e.c.Submit(ctx, job)
	if err != nil {
		return nil, fmt.Errorf("scale: submit: %w", err)
	}
	r.accept = time.Since(began)
	if sub.Tasks != int64(cfg.scaleN) {
		return nil, fmt.Errorf("scale: %d microtasks accepted, want %d", sub.Tasks, cfg.scaleN)
	}
	if r.rssAccept, err = procs.PeakRSS(e.server.Process.Pid); err != nil {
		return nil, err
	}
	if err := e.workers(cfg.workers, cfg.slots, cfg.prefetch); err != nil {
		return nil, err
	}
	start := time.Now()
	deadline := start.Add(cfg.drain)
	for {
		st, err := e.c.Job(ctx, sub.ID)
		if err != nil {
			return nil, fmt.Errorf("scale: status: %w", err)
		}
		r.drained = st.Counts.Done
		if st.State.Final() || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	r.drainRate = float64(r.drained) / time.Since(start).Seconds()
	if r.rssPeak, err = procs.PeakRSS(e.server.Process.Pid); err != nil {
		return nil, err
	}
	return r, nil
}

// myriadLatency is scenario 5: n one-microtask jobs submitted one after
// the other to idle workers; the coordinator's ready-to-start histogram
// (/metrics) gives p50 and p99.
func myriadLatency(ctx context.Context, cfg *config) (p50, p99 time.Duration, err error) {
	e, err := startEngine(cfg.bin, cfg.sync)
	if err != nil {
		return 0, 0, err
	}
	defer e.stop()
	if err := e.workers(1, cfg.parSlots, cfg.prefetch); err != nil {
		return 0, 0, err
	}
	for i := 0; i < cfg.latencyN; i++ {
		if _, err := e.runJob(ctx, 1, spec.Stage{Op: "noop"}); err != nil {
			return 0, 0, fmt.Errorf("latency: %w", err)
		}
	}
	h, err := readHistogram(ctx, e.url, "myriad_ready_to_start_seconds")
	if err != nil {
		return 0, 0, err
	}
	if h.count != uint64(cfg.latencyN) {
		return 0, 0, fmt.Errorf("latency: the histogram has %d observations, want %d", h.count, cfg.latencyN)
	}
	return h.quantile(0.5), h.quantile(0.99), nil
}

// histogram is a Prometheus histogram read back from /metrics.
type histogram struct {
	le    []float64 // upper bounds, ascending, +Inf last
	cum   []uint64
	count uint64
}

func readHistogram(ctx context.Context, base, name string) (*histogram, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+procs.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read metrics: %s", res.Status)
	}
	h := &histogram{}
	sc := bufio.NewScanner(res.Body)
	prefix := name + `_bucket{le="`
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), prefix)
		if !ok {
			continue
		}
		bound, val, ok := strings.Cut(rest, `"} `)
		if !ok {
			return nil, fmt.Errorf("read metrics: bad line %q", sc.Text())
		}
		le := math.Inf(1)
		if bound != "+Inf" {
			if le, err = strconv.ParseFloat(bound, 64); err != nil {
				return nil, fmt.Errorf("read metrics: %w", err)
			}
		}
		n, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("read metrics: %w", err)
		}
		h.le, h.cum = append(h.le, le), append(h.cum, n)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	if len(h.le) == 0 {
		return nil, fmt.Errorf("read metrics: no %s histogram", name)
	}
	h.count = h.cum[len(h.cum)-1]
	return h, nil
}

// quantile interpolates linearly inside the bucket holding q, as
// Prometheus' histogram_quantile does.
func (h *histogram) quantile(q float64) time.Duration {
	if h.count == 0 {
		return 0
	}
	rank := q * float64(h.count)
	lower, below := 0.0, uint64(0)
	for i, le := range h.le {
		if float64(h.cum[i]) >= rank {
			if math.IsInf(le, 1) {
				return time.Duration(lower * float64(time.Second))
			}
			in := float64(h.cum[i] - below)
			frac := 1.0
			if in > 0 {
				frac = (rank - float64(below)) / in
			}
			return time.Duration((lower + (le-lower)*frac) * float64(time.Second))
		}
		lower, below = le, h.cum[i]
	}
	return time.Duration(lower * float64(time.Second))
}
