package ops

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestWaitLastsAtLeastItsDuration(t *testing.T) {
	for _, d := range []time.Duration{0, 500 * time.Microsecond, 3 * time.Millisecond, 12 * time.Millisecond} {
		start := time.Now()
		if err := wait(context.Background(), d); err != nil {
			t.Fatalf("wait(%v): %v", d, err)
		}
		if got := time.Since(start); got < d {
			t.Errorf("wait(%v) returned after %v", d, got)
		}
	}
}

func TestWaitEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := wait(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait with a canceled context: %v, want context.Canceled", err)
	}
}

// BenchmarkWait10ms reports how late a 10 ms wait ends (late-µs/op),
// against a plain Go timer.
func BenchmarkWait10ms(b *testing.B) {
	for _, c := range []struct {
		name string
		fn   func(time.Duration)
	}{
		{"fine", func(d time.Duration) { wait(context.Background(), d) }},
		{"timer", func(d time.Duration) { <-time.After(d) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			var late time.Duration
			for b.Loop() {
				start := time.Now()
				c.fn(10 * time.Millisecond)
				late += time.Since(start) - 10*time.Millisecond
			}
			b.ReportMetric(float64(late.Microseconds())/float64(b.N), "late-µs/op")
		})
	}
}
