package sched

import (
	"fmt"
	"testing"
)

// BenchmarkPlan is the scheduling decision of one worker round trip:
// a worker with 8 free slots choosing among the ready stages of many
// jobs, some of which it cannot run.
func BenchmarkPlan(b *testing.B) {
	for _, jobs := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("queues=%d", jobs), func(b *testing.B) {
			snap := &Snapshot{
				Worker:    Worker{Free: 8, Ops: map[string]bool{"noop": true, "exec": true}, Load: 0.5},
				OtherFree: 24,
			}
			for i := range jobs {
				op := "noop"
				if i%4 == 3 {
					op = "gpu" // infeasible for this worker
				}
				snap.Queues = append(snap.Queues, Queue{Job: fmt.Sprint("j", i), Op: op, Ready: 1000 + i,
					Weight: float64(1 + i%3), Priority: i % 2, Seq: int64(i), Running: i % 7})
			}
			b.ReportAllocs()
			for b.Loop() {
				if plan := Plan(snap); len(plan) == 0 {
					b.Fatal("empty plan")
				}
			}
		})
	}
}
