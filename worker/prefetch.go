package worker

import (
	"math"
	"sync"
	"time"
)

const (
	// autoPrefetchPerSlot and maxAutoPrefetch make the default Prefetch
	// of AutoPrefetch. Only microtasks far shorter than a round trip reach
	// it; for them larger round trips are cheaper per microtask (each
	// commits more results in one transaction): no-op throughput was
	// 18 000/s at 8 per slot, 25 000/s at 32, 31 000/s at 128.
	autoPrefetchPerSlot = 128
	maxAutoPrefetch     = 10_000
	// paceWeight is the weight of a new sample in the moving averages.
	paceWeight = 0.2
	// cushionTrips and cushionExtra size the queue AutoPrefetch keeps:
	// enough microtasks to cover this many round trips plus this much,
	// so a slow commit on the coordinator does not leave slots idle.
	cushionTrips = 4
	cushionExtra = 5 * time.Millisecond
)

// pace holds moving averages of how long microtasks run here and how
// long a round trip to the coordinator takes; zero until measured. The
// runtime's is geometric (a moving average of its logarithm): a no-op
// that once takes 3 ms (a GC pause) among ones of 2 µs would otherwise
// shrink the queue a hundredfold for the next dozen round trips.
type pace struct {
	mu      sync.Mutex
	runtime time.Duration
	trip    time.Duration
}

func (p *pace) ran(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d = max(d, time.Nanosecond)
	if p.runtime == 0 {
		p.runtime = d
		return
	}
	l := (1-paceWeight)*math.Log(float64(p.runtime)) + paceWeight*math.Log(float64(d))
	p.runtime = max(time.Duration(math.Exp(l)), time.Nanosecond)
}

func (p *pace) roundTrip(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.trip == 0 {
		p.trip = max(d, 1)
		return
	}
	p.trip = max(time.Duration((1-paceWeight)*float64(p.trip)+paceWeight*float64(d)), 1)
}

func (p *pace) get() (runtime, trip time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runtime, p.trip
}

// prefetchNow is how many leases to hold beyond the slots: Prefetch, or
// with AutoPrefetch the queue that keeps the slots busy while the results
// travel and new leases come back — Slots × (cushionTrips round trips +
// cushionExtra) ÷ the mean runtime, rounded, at most Prefetch. Before
// any microtask has run it is 0, so a new worker takes only what it can
// start; microtasks much longer than a round trip get none.
func (w *Worker) prefetchNow() int {
	if !w.cfg.AutoPrefetch {
		return w.cfg.Prefetch
	}
	rt, trip := w.pace.get()
	if rt == 0 {
		return 0
	}
	cover := cushionTrips*trip + cushionExtra
	n := math.Round(float64(w.cfg.Slots) * float64(cover) / float64(rt))
	return int(min(n, float64(w.cfg.Prefetch)))
}
