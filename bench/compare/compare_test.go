package main

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/myriadhq/myriad/bench/internal/procs"
)

// TestSmoke runs every scenario with tiny counts against real processes,
// so the benchmark cannot rot: myriad always, GNU parallel when it is
// installed (Dask's start-up alone takes seconds; the full command runs
// it). It checks the figures exist and make sense, not how fast they are.
func TestSmoke(t *testing.T) {
	bin, cleanup, err := procs.Build()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	cfg := &config{
		bin: bin, sync: "full", workers: 1, slots: 4, parSlots: 4, prefetch: "auto",
		noopN: 40, sleepN: 8, sleepMS: 5, execN: 8, scaleN: 300, drain: 2 * time.Minute, latencyN: 5,
		parallel:  haveParallel(),
		scenarios: map[string]bool{"noop": true, "sleep": true, "exec": true, "scale": true, "latency": true},
		progress:  t.Logf,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rows, err := run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]row{}
	for _, r := range rows {
		byName[strings.SplitN(r.figure, " (", 2)[0]] = r
	}
	for _, name := range []string{"no-op throughput", "parallel efficiency", "exec overhead", "scale: accept 300",
		"scale: coordinator peak RSS", "scale: drain throughput", "ready-to-start p50", "ready-to-start p99"} {
		r, ok := byName[name]
		if !ok {
			t.Errorf("no row %q in %v", name, rows)
			continue
		}
		if !(r.myriad > 0) || math.IsInf(r.myriad, 0) {
			t.Errorf("%s: myriad figure %v, want a positive number", name, r.myriad)
		}
	}
	if e := byName["parallel efficiency"].myriad; e > 1.0001 {
		t.Errorf("efficiency %v above 1: the ideal is wrong", e)
	}
	if d := byName["scale: drain throughput"].note; !strings.HasPrefix(d, "300 done") {
		t.Errorf("scale drain: %q, want all 300 done", d)
	}
	if cfg.parallel && !byName["exec overhead"].hasPeer {
		t.Error("GNU parallel is installed but the exec row has no peer figure")
	}
	var sb strings.Builder
	printTable(&sb, rows)
	if !strings.Contains(sb.String(), "myriad/peer") {
		t.Errorf("table lacks its header:\n%s", sb.String())
	}
	t.Logf("\n%s", sb.String())
}

func TestHistogramQuantile(t *testing.T) {
	t.Parallel()
	inf := math.Inf(1)
	h := &histogram{le: []float64{0.001, 0.002, 0.01, inf}, cum: []uint64{50, 90, 100, 100}, count: 100}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{
		{0.5, time.Millisecond},                            // the top of the first bucket
		{0.25, 500 * time.Microsecond},                     // half-way through it
		{0.7, 1500 * time.Microsecond},                     // half-way through the second
		{0.99, 2*time.Millisecond + 7200*time.Microsecond}, // 9 tenths into the third
	} {
		if got := h.quantile(c.q); (got - c.want).Abs() > time.Microsecond {
			t.Errorf("quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	over := &histogram{le: []float64{0.001, inf}, cum: []uint64{1, 10}, count: 10}
	if got := over.quantile(0.99); got != time.Millisecond {
		t.Errorf("quantile in the +Inf bucket = %v, want the last finite bound 1ms", got)
	}
	if got := (&histogram{}).quantile(0.5); got != 0 {
		t.Errorf("empty histogram quantile = %v, want 0", got)
	}
}
