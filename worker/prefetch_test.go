package worker

import (
	"testing"
	"time"
)

func TestAutoPrefetchFollowsRuntime(t *testing.T) {
	w, err := New(Config{Server: "http://127.0.0.1:1", Slots: 8, AutoPrefetch: true})
	if err != nil {
		t.Fatal(err)
	}
	if w.cfg.Prefetch != 1024 {
		t.Fatalf("AutoPrefetch's bound: %d, want 128 × 8 slots", w.cfg.Prefetch)
	}
	if got := w.prefetchNow(); got != 0 {
		t.Fatalf("before any microtask ran: prefetch %d, want 0", got)
	}
	for _, c := range []struct {
		runtime, trip time.Duration
		want          int
	}{
		{10 * time.Millisecond, 2 * time.Millisecond, 10}, // 8 × 13 ms ÷ 10 ms
		{50 * time.Microsecond, 2 * time.Millisecond, 1024},
		{time.Second, 5 * time.Millisecond, 0},
		{100 * time.Millisecond, time.Millisecond, 1},
	} {
		w.pace = pace{runtime: c.runtime, trip: c.trip}
		if got := w.prefetchNow(); got != c.want {
			t.Errorf("runtime %v, round trip %v: prefetch %d, want %d", c.runtime, c.trip, got, c.want)
		}
	}
	fixed, err := New(Config{Server: "http://127.0.0.1:1", Slots: 8, Prefetch: 3})
	if err != nil {
		t.Fatal(err)
	}
	fixed.pace = pace{runtime: time.Microsecond, trip: time.Millisecond}
	if got := fixed.prefetchNow(); got != 3 {
		t.Fatalf("fixed Prefetch 3: %d", got)
	}
}

func TestPaceAverages(t *testing.T) {
	var p pace
	p.ran(10 * time.Millisecond)
	if rt, _ := p.get(); rt != 10*time.Millisecond {
		t.Fatalf("first sample: %v", rt)
	}
	p.ran(20 * time.Millisecond)
	// Geometric: 10 ms^0.8 × 20 ms^0.2 = 11.49 ms.
	if rt, _ := p.get(); rt < 11480*time.Microsecond || rt > 11500*time.Microsecond {
		t.Fatalf("after 10 ms and 20 ms: %v, want 11.49 ms (weight 0.2, geometric)", rt)
	}
	// One outlier moves it by at most its ratio to the power 0.2.
	p = pace{}
	p.ran(2 * time.Microsecond)
	p.ran(3 * time.Millisecond)
	if rt, _ := p.get(); rt > 10*time.Microsecond {
		t.Fatalf("2 µs then one 3 ms: %v, want under 10 µs", rt)
	}
	p.roundTrip(10 * time.Millisecond)
	p.roundTrip(20 * time.Millisecond)
	if _, trip := p.get(); trip != 12*time.Millisecond {
		t.Fatalf("round trips 10 ms and 20 ms: %v, want 12 ms (weight 0.2)", trip)
	}
}
