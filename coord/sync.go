package coord

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/sched"
	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// ErrBadRequest: the worker sent something that cannot be valid.
var ErrBadRequest = errors.New("bad request")

// MaxSlots bounds the slots one worker may declare.
const MaxSlots = 100_000

// Sync handles one round trip of the worker protocol (see api.SyncRequest).
func (c *Coordinator) Sync(ctx context.Context, req *api.SyncRequest) (*api.SyncResponse, error) {
	if err := checkSync(req); err != nil {
		return nil, err
	}
	resp := &api.SyncResponse{LeaseTTLMS: c.cfg.LeaseTTL.Milliseconds(), HeartbeatMS: (c.cfg.LeaseTTL / 3).Milliseconds()}
	wait := min(time.Duration(req.WaitMS)*time.Millisecond, c.cfg.MaxWait)
	var deadline <-chan time.Time
	first := true
	var parked *parkedPoll
	for {
		c.mu.Lock()
		w := c.touchWorkerLocked(req)
		var workCh <-chan struct{}
		if req.Want > 0 {
			workCh = c.workCh
		}
		kicked := w.kicked()
		c.mu.Unlock()
		var err error
		if first {
			err = c.do(ctx, func(ctx context.Context, tx store.Tx) error { return c.syncOnce(ctx, tx, w, req, resp) })
		} else {
			err = c.do(ctx, func(ctx context.Context, tx store.Tx) error {
				resp.Leases = resp.Leases[:0]
				resp.Cancel = append(resp.Cancel, w.cancel...)
				w.cancel = w.cancel[:0]
				return c.claim(ctx, tx, w, req.Want, req.Seq, resp)
			})
		}
		if err != nil {
			return nil, err
		}
		reported := len(req.Done)+len(req.Failed)+len(req.Released) > 0
		if len(resp.Leases) > 0 || len(resp.Cancel) > 0 || req.Draining || wait <= 0 || reported && first || c.takeWoken(w) {
			return resp, nil
		}
		if first {
			first = false
			t := time.NewTimer(wait)
			defer t.Stop()
			deadline = t.C
		}
		var ready <-chan struct{}
		if workCh != nil {
			c.mu.Lock()
			parked = c.parkLocked(w, req.Want, req.Seq, resp)
			c.mu.Unlock()
			ready = parked.ready
		}
		var end error
		timedOut := false
		select {
		case <-ready:
		case <-workCh:
		case <-kicked:
		case <-deadline:
			timedOut = true
		case <-ctx.Done():
			end = ctx.Err()
		case <-c.stopped:
			end = ErrStopped
		}
		if parked != nil && c.unpark(parked) && parked.ok && len(resp.Leases) > 0 {
			// A batch claimed for this poll and committed: hand the
			// leases over, whatever else woke it.
			return resp, nil
		}
		parked = nil
		switch {
		case end != nil:
			return nil, end
		case timedOut, c.takeWoken(w):
			return resp, nil
		}
	}
}

// Wake makes the waiting request of the worker with this id answer now
// with what it has (or its next request, if none waits yet). A worker
// calls it when results become ready during a long poll: the poll
// answers cleanly, leases it took included, and the worker reports at
// once. Cutting the poll short from the worker's side instead could lose
// leases in transit. Wake reports whether the worker is known.
func (c *Coordinator) Wake(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.workers[id]
	if w == nil {
		return false
	}
	w.woken = true
	w.wake()
	return true
}

// takeWoken reports, once, whether Wake was called for w.
func (c *Coordinator) takeWoken(w *workerRT) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	woken := w.woken
	w.woken = false
	return woken
}

func checkSync(req *api.SyncRequest) error {
	w := &req.Worker
	switch {
	case w.ID == "" || len(w.ID) > 200:
		return fmt.Errorf("worker.id: want 1..200 characters: %w", ErrBadRequest)
	case w.Slots < 1 || w.Slots > MaxSlots:
		return fmt.Errorf("worker.slots: %d is out of range (1..%d): %w", w.Slots, MaxSlots, ErrBadRequest)
	case w.Prefetch < 0 || w.Prefetch > MaxSlots:
		return fmt.Errorf("worker.prefetch: %d is out of range (0..%d): %w", w.Prefetch, MaxSlots, ErrBadRequest)
	case req.Want < 0 || req.Want > w.Slots+w.Prefetch:
		return fmt.Errorf("want: %d is out of range (0..slots+prefetch): %w", req.Want, ErrBadRequest)
	case req.WaitMS < 0:
		return fmt.Errorf("wait_ms: %d is negative: %w", req.WaitMS, ErrBadRequest)
	case len(w.Ops) > 1000:
		return fmt.Errorf("worker.ops: more than 1000 operators: %w", ErrBadRequest)
	}
	for i, op := range w.Ops {
		if op == "" || len(op) > 100 {
			return fmt.Errorf("worker.ops[%d]: want 1..100 characters: %w", i, ErrBadRequest)
		}
	}
	return nil
}

// touchWorkerLocked records that the worker is alive and what it offers.
func (c *Coordinator) touchWorkerLocked(req *api.SyncRequest) *workerRT {
	in := &req.Worker
	w := c.workers[in.ID]
	now := c.clock.Now()
	if w == nil {
		w = &workerRT{leases: map[int64]*attempt{}, dirty: true}
		c.workers[in.ID] = w
		c.log.Info("worker joined", "worker", in.ID, "slots", in.Slots, "ops", in.Ops, "labels", in.Labels)
	}
	state := task.WorkerAlive
	if req.Draining {
		state = task.WorkerDraining
	}
	i := &w.info
	if i.Slots != in.Slots || !slices.Equal(i.Ops, in.Ops) || !mapsEqual(i.Labels, in.Labels) || i.State != state || i.Name != in.Name {
		w.dirty = true
		w.ops = opSet(in.Ops)
	}
	if i.State == task.WorkerLost {
		c.log.Info("worker is back", "worker", in.ID)
	}
	i.ID, i.Name, i.Slots, i.Labels, i.Ops = in.ID, in.Name, in.Slots, in.Labels, in.Ops
	i.Load, i.CPUs, i.Version, i.State, i.LastSeen = in.Load, in.CPUs, in.Version, state, now
	i.Cache = in.Cache
	i.Running = len(req.Running)
	w.prefetch = in.Prefetch
	return w
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// syncOnce applies a worker's reports and grants it work, in one
// transaction shared with other requests.
func (c *Coordinator) syncOnce(ctx context.Context, tx store.Tx, w *workerRT, req *api.SyncRequest, resp *api.SyncResponse) error {
	now := c.clock.Now()
	if c.shared() {
		if err := c.adoptLeasesLocked(ctx, tx, w, req); err != nil {
			return err
		}
	}
	tx, err := c.finishAheadLocked(ctx, tx, w, req, now)
	if err != nil {
		return err
	}
	resp.Leases, resp.Accepted, resp.Refused, resp.Cancel = resp.Leases[:0], resp.Accepted[:0], resp.Refused[:0], resp.Cancel[:0]
	reported := make(map[int64]bool, len(req.Done)+len(req.Failed)+len(req.Released))
	holder := func(ref api.TaskRef) (*attempt, string) {
		a := w.leases[ref.Task]
		switch {
		case a == nil && c.attempts[ref.Task] == nil:
			return nil, "no lease: the microtask is not running (its lease expired, its job ended, or it is done)"
		case a == nil:
			return nil, "no lease: the microtask is leased to another worker"
		case a.token != ref.Token:
			return nil, fmt.Sprintf("stale token %d: the current lease has token %d", ref.Token, a.token)
		}
		return a, ""
	}
	refuse := func(id int64, reason string) {
		resp.Refused = append(resp.Refused, api.Refusal{Task: id, Reason: reason})
	}
	for i := range req.Done {
		d := &req.Done[i]
		reported[d.Task] = true
		a, why := holder(api.TaskRef{Task: d.Task, Token: d.Token})
		if a == nil {
			refuse(d.Task, why)
			continue
		}
		ok, err := c.commitDone(ctx, tx, a, d.Output, d.Metrics, time.Duration(d.RuntimeMS)*time.Millisecond, now)
		if err != nil {
			return err
		}
		if !ok {
			refuse(d.Task, "refused by the store: the lease is no longer valid")
			c.dropAttemptLocked(a)
			continue
		}
		resp.Accepted = append(resp.Accepted, d.Task)
		c.readyToStart.observe(a.readyAt, d.StartedUS)
	}
	for i := range req.Failed {
		f := &req.Failed[i]
		reported[f.Task] = true
		a, why := holder(api.TaskRef{Task: f.Task, Token: f.Token})
		if a == nil {
			refuse(f.Task, why)
			continue
		}
		msg := f.Error
		if f.Kind != "" && f.Kind != api.FailError {
			msg = f.Kind + ": " + msg
		}
		ok, err := c.commitFailure(ctx, tx, a, truncate(msg, 4096), f.Permanent, time.Duration(f.RuntimeMS)*time.Millisecond, now)
		if err != nil {
			return err
		}
		if !ok {
			refuse(f.Task, "refused by the store: the lease is no longer valid")
			c.dropAttemptLocked(a)
			continue
		}
		resp.Accepted = append(resp.Accepted, f.Task)
	}
	for _, r := range req.Released {
		reported[r.Task] = true
		a, why := holder(r)
		if a == nil {
			refuse(r.Task, why)
			continue
		}
		if _, err := c.commitRelease(ctx, tx, a, "", now); err != nil {
			return err
		}
		resp.Accepted = append(resp.Accepted, r.Task)
	}
	for _, p := range req.Progress {
		if a, _ := holder(api.TaskRef{Task: p.Task, Token: p.Token}); a != nil && !a.backup && !reported[p.Task] {
			a.live = metricPoints(p.Metrics, a.job.stages[a.stage].def.Name)
		}
	}
	// Reconcile: what the worker runs against what it holds.
	listed := make(map[int64]bool, len(req.Running))
	for _, r := range req.Running {
		listed[r.Task] = true
		if a := w.leases[r.Task]; a == nil || a.token != r.Token {
			resp.Cancel = append(resp.Cancel, r)
		}
	}
	if req.Seq > w.seq {
		w.seq = req.Seq
	}
	for id, a := range w.leases {
		if !listed[id] && !reported[id] && a.seq < req.Seq {
			c.log.Warn("lease lost in transit; requeued", "worker", w.info.ID, "job", a.job.job.ID, "task", id)
			if _, err := c.commitRelease(ctx, tx, a, "", now); err != nil {
				return err
			}
		}
	}
	resp.Cancel = append(resp.Cancel, w.cancel...)
	w.cancel = w.cancel[:0]
	if !req.Draining {
		if err := c.claim(ctx, tx, w, req.Want, req.Seq, resp); err != nil {
			return err
		}
	}
	if w.dirty || now.Sub(w.persistedAt) > c.persistEvery() {
		if err := tx.WorkerUpsert(ctx, &w.info); err != nil {
			return err
		}
		w.dirty, w.persistedAt = false, now
	}
	return c.settle(ctx, tx)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// claim leases up to want microtasks to w, as sched.Plan decides, and
// fills slots left over with speculative copies of stragglers.
func (c *Coordinator) claim(ctx context.Context, tx store.Tx, w *workerRT, want int, seq uint64, resp *api.SyncResponse) error {
	before := len(resp.Leases)
	if err := c.claimReady(ctx, tx, w, want, seq, resp); err != nil {
		return err
	}
	// A backup copy only helps if it starts at once: slots, not prefetch.
	return c.speculate(ctx, tx, w, min(want-(len(resp.Leases)-before), w.idleSlots()), seq, resp)
}

// claimReady leases up to want ready microtasks to w.
func (c *Coordinator) claimReady(ctx context.Context, tx store.Tx, w *workerRT, want int, seq uint64, resp *api.SyncResponse) error {
	free := min(want, w.free())
	if free <= 0 || w.info.State != task.WorkerAlive {
		return nil
	}
	snap := &sched.Snapshot{Worker: sched.Worker{Free: free, Ops: w.ops, Labels: w.info.Labels, Load: w.info.Load}}
	type ref struct {
		j *jobRT
		s *stageRT
	}
	var refs []ref
	// Work hinted to other workers (they hold its inputs) is left to them
	// while there is other work; it is taken only if nothing else is.
	hinted := false
	for _, j := range c.jobs {
		for _, s := range j.stages {
			if s.counts.Ready > 0 {
				ready := s.counts.Ready
				for other, ids := range s.affinity {
					if other != w.info.ID {
						ready -= int64(len(ids))
						hinted = true
					}
				}
				snap.Queues = append(snap.Queues, sched.Queue{
					Job: j.job.ID, Stage: s.idx, Op: s.def.Op, Labels: s.def.Labels, Ready: int(max(ready, 0)),
					Weight: j.job.Weight, Priority: j.job.Priority, Seq: j.seq, Running: j.running,
				})
				refs = append(refs, ref{j, s})
			}
		}
	}
	if len(refs) == 0 {
		return nil
	}
	now := c.clock.Now()
	for _, o := range c.workers {
		if o != w && o.info.State == task.WorkerAlive && now.Sub(o.info.LastSeen) < c.cfg.LeaseTTL {
			snap.OtherFree += sched.EffectiveFree(o.free(), o.info.Load)
		}
	}
	plan := sched.Plan(snap)
	if len(plan) == 0 && hinted {
		for i := range snap.Queues {
			snap.Queues[i].Ready = int(refs[i].s.counts.Ready)
		}
		plan = sched.Plan(snap)
	}
	for _, g := range plan {
		j, s := refs[g.Queue].j, refs[g.Queue].s
		var skip []int64
		if len(c.avoid) > 0 {
			skip = c.skipLocked(w, j, s, now)
		}
		claimed, err := tx.TaskClaim(ctx, &store.TaskClaimParams{JobID: j.job.ID, Stage: s.idx, Worker: w.info.ID, Limit: g.N, Now: now,
			Prefer: s.preferred(w.info.ID, g.N), Skip: skip})
		if err != nil {
			return err
		}
		if len(claimed) < g.N && len(skip) > 0 {
			s.counts.Ready -= int64(len(claimed)) // the rest were passed over, still ready
		} else if len(claimed) < g.N {
			// The store is the truth: fewer were ready than counted.
			c.log.Warn("ready count was ahead of the store", "job", j.job.ID, "stage", s.def.Name, "counted", s.counts.Ready, "claimed", len(claimed))
			s.counts.Ready = 0
		} else {
			s.counts.Ready -= int64(len(claimed))
		}
		for _, cl := range claimed {
			items := cl.Items
			if items == nil {
				if items, err = tx.TaskOutputs(ctx, j.job.ID, s.upstream); err != nil {
					return err
				}
				items = keptItems(items)
				if items == nil {
					items = []task.Item{}
				}
			}
			a := &attempt{taskID: cl.ID, token: cl.Token, number: cl.Attempt, job: j, stage: s.idx, items: len(items),
				worker: w, started: now, deadline: now.Add(s.def.Timeout.D() + c.cfg.LeaseTTL), seq: seq, readyAt: cl.ReadyAt}
			c.attempts[cl.ID] = a
			w.leases[cl.ID] = a
			j.running++
			s.counts.Running++
			c.log.Debug("microtask leased", "job", j.job.ID, "stage", s.def.Name, "task", cl.ID, "attempt", cl.Attempt, "token", cl.Token, "worker", w.info.ID)
			resp.Leases = append(resp.Leases, api.Lease{
				Task: cl.ID, Token: cl.Token, Job: j.job.ID, Stage: s.def.Name, Op: s.def.Op, Params: s.def.Params,
				Items: items, Attempt: cl.Attempt, TimeoutMS: s.def.Timeout.D().Milliseconds(),
			})
		}
	}
	return nil
}
