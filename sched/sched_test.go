package sched

import (
	"testing"
)

func ops(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

func total(p []Grant) int {
	n := 0
	for _, g := range p {
		n += g.N
	}
	return n
}

func byQueue(p []Grant) map[int]int {
	m := map[int]int{}
	for _, g := range p {
		m[g.Queue] += g.N
	}
	return m
}

func TestFeasibility(t *testing.T) {
	t.Parallel()
	s := &Snapshot{
		Queues: []Queue{
			{Job: "a", Op: "train", Ready: 5},
			{Job: "b", Op: "noop", Labels: map[string]string{"gpu": "1"}, Ready: 5},
			{Job: "c", Op: "noop", Labels: map[string]string{"zone": ""}, Ready: 5},
			{Job: "d", Op: "noop", Ready: 5},
		},
		Worker: Worker{Free: 100, Ops: ops("noop"), Labels: map[string]string{"gpu": "0", "zone": "eu"}},
	}
	got := byQueue(Plan(s))
	if got[0] != 0 || got[1] != 0 {
		t.Fatalf("granted infeasible queues: %v", got)
	}
	if got[2] != 5 || got[3] != 5 {
		t.Fatalf("want the label-presence queue and the plain queue in full, got %v", got)
	}
}

func TestNeverMoreThanFree(t *testing.T) {
	t.Parallel()
	for _, free := range []int{0, 1, 3, 8} {
		s := &Snapshot{Queues: []Queue{{Job: "a", Op: "noop", Ready: 100}, {Job: "b", Op: "noop", Ready: 100}}, Worker: Worker{Free: free, Ops: ops("noop")}}
		if n := total(Plan(s)); n != free {
			t.Errorf("free %d: granted %d", free, n)
		}
	}
	s := &Snapshot{Queues: []Queue{{Job: "a", Op: "noop", Ready: 2}}, Worker: Worker{Free: 8, Ops: ops("noop")}}
	if n := total(Plan(s)); n != 2 {
		t.Errorf("granted %d from a queue of 2", n)
	}
}

func TestLoadReducesGrant(t *testing.T) {
	t.Parallel()
	q := []Queue{{Job: "a", Op: "noop", Ready: 100}}
	calm := total(Plan(&Snapshot{Queues: q, Worker: Worker{Free: 8, Ops: ops("noop"), Load: 0.5}}))
	busy := total(Plan(&Snapshot{Queues: q, Worker: Worker{Free: 8, Ops: ops("noop"), Load: 2}}))
	swamped := total(Plan(&Snapshot{Queues: q, Worker: Worker{Free: 8, Ops: ops("noop"), Load: 9}}))
	if calm != 8 || busy != 4 || swamped != 2 {
		t.Fatalf("grants by load: calm %d busy %d swamped %d; want 8 4 2", calm, busy, swamped)
	}
	if n := total(Plan(&Snapshot{Queues: q, Worker: Worker{Free: 1, Ops: ops("noop"), Load: 50}})); n != 1 {
		t.Fatalf("a free, overloaded worker should still take one, took %d", n)
	}
}

func TestScarceWorkIsSplit(t *testing.T) {
	t.Parallel()
	// 8 ready, this worker and three others each with 8 free: take 2.
	s := &Snapshot{Queues: []Queue{{Job: "a", Op: "noop", Ready: 8}}, Worker: Worker{Free: 8, Ops: ops("noop")}, OtherFree: 24}
	if n := total(Plan(s)); n != 2 {
		t.Fatalf("granted %d of scarce work, want 2", n)
	}
	s.Queues[0].Ready = 1
	if n := total(Plan(s)); n != 1 {
		t.Fatalf("granted %d of a single microtask, want 1", n)
	}
}

func TestShareByWeight(t *testing.T) {
	t.Parallel()
	// Job a has 10 running, b none, both weight 1: the next 10 go to b.
	s := &Snapshot{
		Queues: []Queue{
			{Job: "a", Op: "noop", Ready: 100000, Running: 10, Seq: 1},
			{Job: "b", Op: "noop", Ready: 10, Seq: 2},
		},
		Worker: Worker{Free: 10, Ops: ops("noop")},
	}
	if got := byQueue(Plan(s)); got[1] != 10 {
		t.Fatalf("the small job got %d of 10, want all: %v", got[1], got)
	}
	// Equal running, weights 3:1: grants 30 split 3:1 after evening out.
	s = &Snapshot{
		Queues: []Queue{
			{Job: "a", Op: "noop", Ready: 100, Weight: 3, Seq: 1},
			{Job: "b", Op: "noop", Ready: 100, Weight: 1, Seq: 2},
		},
		Worker: Worker{Free: 40, Ops: ops("noop")},
	}
	if got := byQueue(Plan(s)); got[0] != 30 || got[1] != 10 {
		t.Fatalf("weights 3:1 gave %v, want 30:10", got)
	}
}

func TestPriorityThenAge(t *testing.T) {
	t.Parallel()
	s := &Snapshot{
		Queues: []Queue{
			{Job: "old", Op: "noop", Ready: 5, Seq: 1},
			{Job: "new-high", Op: "noop", Ready: 5, Seq: 2, Priority: 5},
			{Job: "new", Op: "noop", Ready: 5, Seq: 3},
		},
		Worker: Worker{Free: 1, Ops: ops("noop")},
	}
	if p := Plan(s); len(p) != 1 || p[0].Queue != 1 {
		t.Fatalf("priority should win a tie in share: %v", p)
	}
	s.Queues[1].Priority = 0
	if p := Plan(s); len(p) != 1 || p[0].Queue != 0 {
		t.Fatalf("age should break a tie in share and priority: %v", p)
	}
}

func TestLaterStagesFirst(t *testing.T) {
	t.Parallel()
	s := &Snapshot{
		Queues: []Queue{{Job: "a", Stage: 0, Op: "noop", Ready: 10}, {Job: "a", Stage: 2, Op: "noop", Ready: 3}},
		Worker: Worker{Free: 5, Ops: ops("noop")},
	}
	if got := byQueue(Plan(s)); got[1] != 3 || got[0] != 2 {
		t.Fatalf("got %v, want stage 2's 3 then 2 of stage 0", got)
	}
}
