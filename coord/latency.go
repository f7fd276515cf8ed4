package coord

import (
	"sync/atomic"
	"time"
)

// ReadyToStartBounds are the upper bounds, in seconds, of the buckets of
// the ready-to-start histogram (see ReadyToStart).
var ReadyToStartBounds = []float64{0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05,
	0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Histogram is a snapshot of a latency histogram in the Prometheus
// layout: Counts[i] is the number of observations at most Bounds[i]
// (cumulative); Count includes those above the last bound.
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
	Sum    float64 // seconds
}

// latencyHist counts observations without a lock: it is written by the
// writer goroutine and read by metrics requests.
type latencyHist struct {
	buckets [32]atomic.Uint64 // one per bound, plus one above the last
	count   atomic.Uint64
	sumUS   atomic.Int64
}

// observe records the time from ready to startedUS (the worker's clock,
// µs since the epoch), when both are known. A worker clock behind the
// coordinator's counts as zero.
func (h *latencyHist) observe(ready time.Time, startedUS int64) {
	if ready.IsZero() || startedUS <= 0 {
		return
	}
	us := max(startedUS-ready.UnixMicro(), 0)
	s := float64(us) / 1e6
	i := 0
	for i < len(ReadyToStartBounds) && s > ReadyToStartBounds[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.sumUS.Add(us)
	h.count.Add(1)
}

// ReadyToStart returns the histogram of the time from a microtask
// becoming ready (its creation, to the millisecond, so up to 1 ms too
// long) to its handler starting on a worker (by the worker's clock), over
// the first attempts completed since the coordinator started. It is what
// the benchmark in bench/compare reads (as myriad_ready_to_start_seconds
// in /metrics) for the ready-to-start latency.
func (c *Coordinator) ReadyToStart() Histogram {
	h := &c.readyToStart
	out := Histogram{Bounds: ReadyToStartBounds, Counts: make([]uint64, len(ReadyToStartBounds))}
	var cum uint64
	for i := range ReadyToStartBounds {
		cum += h.buckets[i].Load()
		out.Counts[i] = cum
	}
	out.Count = cum + h.buckets[len(ReadyToStartBounds)].Load()
	out.Sum = float64(h.sumUS.Load()) / 1e6
	return out
}
