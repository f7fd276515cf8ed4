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
	if w.cfg.Prefetch != 256 {
		t.Fatalf("AutoPrefetch's bound: %d, want 32 × 8 slots", w.cfg.Prefetch)
	}
	if got := w.prefetchNow(); got != 0 {
		t.Fatalf("before any microtask ran: prefetch %d, want 0", got)
	}
	for _, c := range []struct {
		runtime, trip time.Duration
		want          int
	}{
		{10 * time.Millisecond, 2 * time.Millisecond, 10}, // 8 × 13 ms ÷ 10 ms
		{50 * time.Microsecond, 2 * time.Millisecond, 256},
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
	if rt, _ := p.get(); rt != 12*time.Millisecond {
		t.Fatalf("after 10 ms and 20 ms: %v, want 12 ms (weight 0.2)", rt)
	}
}
