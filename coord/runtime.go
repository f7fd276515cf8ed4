package coord

import (
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/task"
)

// jobRT is the in-memory view of an active job.
type jobRT struct {
	job     *task.Job
	seq     int64 // submission order, for the age tie-break
	stages  []*stageRT
	topo    []int // stage indexes, inputs before the stages they feed
	running int   // microtasks of the job now leased
	dirty   bool  // something changed: check stage and job completion
	rate    rateMeter
}

// stageRT is the in-memory view of one stage of an active job.
type stageRT struct {
	idx        int
	def        *task.Stage
	state      task.StageState
	counts     task.Counts // Pending counts buffered items
	upstream   []int       // stage indexes feeding this one
	fromInput  bool        // takes the job's input items
	downstream []int
	// Observed: microtasks done, their total time from lease to commit,
	// and the items they took and gave (for fan-out estimates).
	doneN, itemsIn, itemsOut int64
	sumSec                   float64
	// affinity lists, per worker, ready microtasks whose inputs that
	// worker produced (so holds in its blob cache): a hint for claims,
	// bounded, lost on restart.
	affinity map[string][]int64
	// recentSec is a moving average of the latest microtasks' times (about
	// the last 50), which follows changes of pace that the mean since the
	// start would average away.
	recentSec float64
	// pace is, per worker, how many times the stage's typical time its
	// microtasks take (a moving average, from its completions and from
	// attempts a speculative copy beat), so a slow worker's new attempts
	// are copied without waiting for them to run long (speculate.go).
	pace map[string]float64
}

// maxPaceWorkers bounds the workers whose pace a stage keeps.
const maxPaceWorkers = 1024

// observePace records that an attempt of worker took ratio times the
// stage's typical time.
func (s *stageRT) observePace(worker string, ratio float64) {
	if s.pace == nil {
		s.pace = map[string]float64{}
	}
	old, ok := s.pace[worker]
	switch {
	case !ok && len(s.pace) >= maxPaceWorkers:
		return
	case !ok:
		s.pace[worker] = ratio
	default:
		s.pace[worker] = old + 0.5*(ratio-old)
	}
}

// observe records one microtask's time from lease to commit.
func (s *stageRT) observe(sec float64) {
	s.doneN++
	s.sumSec += sec
	if s.doneN == 1 {
		s.recentSec = sec
		return
	}
	const alpha = 2.0 / 51
	s.recentSec += alpha * (sec - s.recentSec)
}

// recent is the moving average of recent microtask times.
func (s *stageRT) recent() (float64, bool) { return s.recentSec, s.doneN > 0 }

func (s *stageRT) meanSec() (float64, bool) {
	if s.doneN == 0 {
		return 0, false
	}
	return s.sumSec / float64(s.doneN), true
}

// workerRT is the in-memory view of a worker process.
type workerRT struct {
	info        task.Worker
	ops         map[string]bool
	leases      map[int64]*attempt
	cancel      []api.TaskRef // stop notices to deliver on the next sync
	kick        chan struct{} // closed (and replaced) when cancel grows or on Wake
	woken       bool          // Wake asked its waiting request to answer now
	seq         uint64
	dirty       bool // info changed since it was last stored
	persistedAt time.Time
	prefetch    int // leases it may hold beyond its slots (api.WorkerInfo.Prefetch)
}

// free is how many more leases the worker may hold.
func (w *workerRT) free() int { return w.info.Slots + w.prefetch - len(w.leases) }

// idleSlots is how many of the worker's slots hold no lease.
func (w *workerRT) idleSlots() int { return w.info.Slots - len(w.leases) }

// notify queues a stop notice and wakes the worker's waiting request.
func (w *workerRT) notify(ref api.TaskRef) {
	w.cancel = append(w.cancel, ref)
	w.wake()
}

// wake ends the wait of the worker's request, if one waits.
func (w *workerRT) wake() {
	if w.kick != nil {
		close(w.kick)
		w.kick = nil
	}
}

// kicked returns a channel closed when a stop notice is queued or Wake
// is called.
func (w *workerRT) kicked() <-chan struct{} {
	if w.kick == nil {
		w.kick = make(chan struct{})
	}
	return w.kick
}

// attempt is one lease of a microtask.
type attempt struct {
	taskID   int64
	token    int64
	number   int // 1 for the first attempt
	job      *jobRT
	stage    int
	items    int
	worker   *workerRT
	started  time.Time
	deadline time.Time // past it, the coordinator gives up on the attempt
	seq      uint64    // the worker request that was granted it
	readyAt  time.Time // when it became ready, if the store said (store.Claimed)
	// backup marks a speculative copy of a running microtask (held in
	// Coordinator.backups, not attempts; see speculate.go).
	backup bool
	// live are the training-curve points the attempt has recorded so far
	// (api.TaskProgress), shown with the job's stored metrics until it ends.
	live []task.MetricPoint
}

// rateMeter estimates recent throughput from (time, done) samples.
type rateMeter struct {
	t    [16]time.Time
	n    [16]int64
	head int
	size int
}

func (r *rateMeter) add(now time.Time, done int64) {
	if r.size > 0 {
		last := (r.head + r.size - 1) % len(r.t)
		if now.Sub(r.t[last]) < 500*time.Millisecond {
			r.n[last] = done
			return
		}
	}
	if r.size == len(r.t) {
		r.head = (r.head + 1) % len(r.t)
		r.size--
	}
	i := (r.head + r.size) % len(r.t)
	r.t[i], r.n[i] = now, done
	r.size++
}

// perSecond is the rate over the samples kept (about the last 8 s).
func (r *rateMeter) perSecond(now time.Time, done int64) float64 {
	if r.size == 0 {
		return 0
	}
	dt := now.Sub(r.t[r.head]).Seconds()
	if dt < 0.2 {
		return 0
	}
	return float64(done-r.n[r.head]) / dt
}

// maxAffinity bounds the hints kept per stage and worker.
const maxAffinity = 4096

// prefer records that the ready microtasks ids are best run on worker.
func (s *stageRT) prefer(worker string, ids []int64) {
	if s.affinity == nil {
		s.affinity = map[string][]int64{}
	}
	l := s.affinity[worker]
	if room := maxAffinity - len(l); room < len(ids) {
		ids = ids[:max(room, 0)]
	}
	s.affinity[worker] = append(l, ids...)
}

// preferred takes up to n hinted microtasks for worker.
func (s *stageRT) preferred(worker string, n int) []int64 {
	l := s.affinity[worker]
	if len(l) == 0 {
		return nil
	}
	n = min(n, len(l))
	out := l[:n:n]
	if n == len(l) {
		delete(s.affinity, worker)
	} else {
		s.affinity[worker] = l[n:]
	}
	return out
}
