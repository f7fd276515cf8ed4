package sched

import (
	"container/heap"
	"math"
	"slices"
)

// Queue is the ready work of one stage of one job.
type Queue struct {
	Job      string
	Stage    int
	Op       string
	Labels   map[string]string
	Ready    int
	Weight   float64 // job's weight; <= 0 counts as 1
	Priority int     // job's priority
	Seq      int64   // job's submission order; lower is older
	// Running is the number of microtasks of the whole job now leased.
	Running int
}

// Worker is the worker asking for work.
type Worker struct {
	Free   int
	Ops    map[string]bool
	Labels map[string]string
	// Load is the host's load average per CPU.
	Load float64
}

// Snapshot is everything Plan looks at.
type Snapshot struct {
	Queues []Queue
	Worker Worker
	// OtherFree is the effective free capacity (EffectiveFree) of the
	// other live workers; it decides how scarce work is split.
	OtherFree int
}

// Grant says how many microtasks to lease from Queues[Queue].
type Grant struct {
	Queue int
	N     int
}

// Feasible reports whether w can run q's microtasks.
func Feasible(w *Worker, q *Queue) bool {
	if !w.Ops[q.Op] {
		return false
	}
	for k, v := range q.Labels {
		if got, ok := w.Labels[k]; !ok || (v != "" && got != v) {
			return false
		}
	}
	return true
}

// LoadFactor scales a worker's offered capacity by its host's load per
// CPU: full up to 1, then linearly down to a quarter at 2.5 and beyond,
// so an overloaded host takes less new work.
func LoadFactor(load float64) float64 {
	if load <= 1 || math.IsNaN(load) {
		return 1
	}
	return math.Max(0.25, 1-(load-1)/2)
}

// EffectiveFree is how many microtasks a worker with free slots on a host
// with the given load should take at most.
func EffectiveFree(free int, load float64) int {
	if free <= 0 {
		return 0
	}
	n := int(math.Floor(float64(free) * LoadFactor(load)))
	return max(n, 1)
}

// Plan decides what the worker gets. It never grants more than the
// worker's effective free slots nor more than a queue holds.
func Plan(s *Snapshot) []Grant {
	w := &s.Worker
	budget := EffectiveFree(w.Free, w.Load)
	if budget == 0 {
		return nil
	}
	var feasible []int
	ready := 0
	for i := range s.Queues {
		q := &s.Queues[i]
		if q.Ready > 0 && Feasible(w, q) {
			feasible = append(feasible, i)
			ready += q.Ready
		}
	}
	if ready == 0 {
		return nil
	}
	// Scarce work: take only this worker's proportional part, rounded up
	// so that something is always taken.
	if total := budget + s.OtherFree; ready < total {
		share := (ready*budget + total - 1) / total
		budget = min(budget, max(share, 1))
	}
	budget = min(budget, ready)

	// Group the feasible queues by job; a job's queues are served later
	// stage first.
	type jobQ struct {
		queues  []int
		next    int
		running float64
		weight  float64
		prio    int
		seq     int64
	}
	jobs := map[string]*jobQ{}
	var order []*jobQ
	for _, i := range feasible {
		q := &s.Queues[i]
		j := jobs[q.Job]
		if j == nil {
			wt := q.Weight
			if wt <= 0 {
				wt = 1
			}
			j = &jobQ{running: float64(q.Running), weight: wt, prio: q.Priority, seq: q.Seq}
			jobs[q.Job] = j
			order = append(order, j)
		}
		j.queues = append(j.queues, i)
	}
	for _, j := range order {
		slices.SortFunc(j.queues, func(a, b int) int { return s.Queues[b].Stage - s.Queues[a].Stage })
	}
	left := make(map[int]int, len(feasible))
	for _, i := range feasible {
		left[i] = s.Queues[i].Ready
	}
	h := &jobHeap{}
	for _, j := range order {
		heap.Push(h, &shareEntry{running: j.running, weight: j.weight, prio: j.prio, seq: j.seq, ref: j})
	}
	granted := map[int]int{}
	for budget > 0 && h.Len() > 0 {
		e := heap.Pop(h).(*shareEntry)
		j := e.ref.(*jobQ)
		for j.next < len(j.queues) && left[j.queues[j.next]] == 0 {
			j.next++
		}
		if j.next == len(j.queues) {
			continue // job exhausted; drop it
		}
		qi := j.queues[j.next]
		granted[qi]++
		left[qi]--
		budget--
		e.running++
		heap.Push(h, e)
	}
	var plan []Grant
	for _, i := range feasible {
		if n := granted[i]; n > 0 {
			plan = append(plan, Grant{Queue: i, N: n})
		}
	}
	return plan
}

type shareEntry struct {
	running, weight float64
	prio            int
	seq             int64
	ref             any
}

// less orders by running share, then priority (higher first), then age.
func (a *shareEntry) less(b *shareEntry) bool {
	sa, sb := a.running/a.weight, b.running/b.weight
	if sa != sb {
		return sa < sb
	}
	if a.prio != b.prio {
		return a.prio > b.prio
	}
	return a.seq < b.seq
}

type jobHeap []*shareEntry

func (h jobHeap) Len() int           { return len(h) }
func (h jobHeap) Less(i, j int) bool { return h[i].less(h[j]) }
func (h jobHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *jobHeap) Push(x any)        { *h = append(*h, x.(*shareEntry)) }
func (h *jobHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
