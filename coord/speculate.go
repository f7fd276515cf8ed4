package coord

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/sched"
	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// Speculative execution of stragglers.
//
// When a stage is mostly done (nothing of it left queued, or at least
// SpeculateFraction of its microtasks done) and one of its microtasks has
// run much longer than the stage's typical microtask (SpeculateFactor
// times the moving average of recent ones, and at least SpeculateMin), a
// worker asking for work that has none to give gets a copy of it instead
// (store.Tx.TaskSpeculate): a second attempt with its own fencing token.
// Whichever attempt reports first commits; the other's worker is told to
// stop on its next sync (cancel notice) and its late report is refused.
// If one attempt fails or its worker is lost, the other carries on alone
// (TaskDropAttempt) without counting a retry.
//
// Only first attempts are copied, each at most once, and only in stages
// with at least one retry: every worker lost while running a microtask,
// to a copy or not, counts as one of its attempts, so a microtask that
// crashes or hangs its workers (poison) takes down at most retries+1.
//
// Copies are granted only by the leading coordinator (on a shared store
// the others grant none), from its own view of which attempts run long.

// specStage is what makes a stage's running microtasks candidates.
type specStage struct {
	after time.Duration // run longer than this to be copied
	typ   float64       // the stage's typical microtask time, in seconds
}

// speculationStages returns the stages whose long-running microtasks may
// be copied now, with each one's threshold.
func (c *Coordinator) speculationStagesLocked() map[*stageRT]specStage {
	if c.cfg.NoSpeculation || !c.Leading() {
		return nil
	}
	var out map[*stageRT]specStage
	for _, j := range c.jobs {
		if j.running == 0 {
			continue
		}
		for _, s := range j.stages {
			// With no retry left to spend, a copy of a microtask that
			// kills its worker would take down a second one: no copies.
			if s.def.NoSpeculate || s.def.Retries < 1 || s.state != task.StageRunning || s.counts.Running == 0 {
				continue
			}
			typ, ok := s.recent()
			if !ok {
				continue // no microtask of the stage has finished yet
			}
			total := s.counts.Total()
			mostly := s.counts.Ready+s.counts.Pending+s.counts.Failed == 0 && c.inputsDone(j, s) ||
				float64(s.counts.Done) >= c.cfg.SpeculateFraction*float64(total)
			if !mostly {
				continue
			}
			after := max(time.Duration(typ*c.cfg.SpeculateFactor*float64(time.Second)), c.cfg.SpeculateMin)
			if out == nil {
				out = map[*stageRT]specStage{}
			}
			out[s] = specStage{after: after, typ: typ}
		}
	}
	return out
}

// stragglersLocked lists the first attempts that may be copied now, the
// longest-running first.
func (c *Coordinator) stragglersLocked(now time.Time) []*attempt {
	stages := c.speculationStagesLocked()
	if len(stages) == 0 {
		return nil
	}
	var out []*attempt
	for id, a := range c.attempts {
		s := a.job.stages[a.stage]
		sp, ok := stages[s]
		if !ok || a.number != 1 || c.backups[id] != nil || c.speculated[id] {
			continue
		}
		ran := now.Sub(a.started)
		// A worker known to be slow at this stage: copy its attempt as
		// soon as a copy would end sooner than the attempt is expected to.
		slow := false
		if p := s.pace[a.worker.info.ID]; p >= c.cfg.SpeculateFactor {
			left := time.Duration((p - 1) * sp.typ * float64(time.Second))
			slow = left-ran > time.Duration(sp.typ*float64(time.Second))
		}
		if ran <= sp.after && !slow {
			continue
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y *attempt) int { return x.started.Compare(y.started) })
	return out
}

// speculate gives w, which has n free slots and no ready work it can
// take, copies of stragglers it can run.
func (c *Coordinator) speculate(ctx context.Context, tx store.Tx, w *workerRT, n int, seq uint64, resp *api.SyncResponse) error {
	if n <= 0 || w.info.State != task.WorkerAlive {
		return nil
	}
	now := c.clock.Now()
	for _, a := range c.stragglersLocked(now) {
		if n == 0 {
			break
		}
		s := a.job.stages[a.stage]
		if a.worker == w || w.leases[a.taskID] != nil ||
			!sched.Feasible(&sched.Worker{Ops: w.ops, Labels: w.info.Labels}, &sched.Queue{Op: s.def.Op, Labels: s.def.Labels}) {
			continue
		}
		cl, err := tx.TaskSpeculate(ctx, &store.TaskSpeculateParams{ID: a.taskID, Worker: w.info.ID, Now: now})
		if err != nil {
			return err
		}
		c.speculated[a.taskID] = true
		if cl == nil {
			continue // the store says it is no longer running, or has a copy
		}
		items := cl.Items
		if items == nil {
			if items, err = tx.TaskOutputs(ctx, a.job.job.ID, s.upstream); err != nil {
				return err
			}
			items = keptItems(items)
			if items == nil {
				items = []task.Item{}
			}
		}
		b := &attempt{taskID: cl.ID, token: cl.Token, number: cl.Attempt, job: a.job, stage: a.stage, items: len(items),
			worker: w, started: now, deadline: now.Add(s.def.Timeout.D() + c.cfg.LeaseTTL), seq: seq, backup: true}
		c.backups[cl.ID] = b
		w.leases[cl.ID] = b
		c.specStats.copies++
		resp.Leases = append(resp.Leases, api.Lease{
			Task: cl.ID, Token: cl.Token, Job: a.job.job.ID, Stage: s.def.Name, Op: s.def.Op, Params: s.def.Params,
			Items: items, Attempt: cl.Attempt, TimeoutMS: s.def.Timeout.D().Milliseconds(),
		})
		c.log.Info("straggler: speculative copy", "job", a.job.job.ID, "stage", s.def.Name, "task", a.taskID,
			"holder", a.worker.info.ID, "copy", w.info.ID, "running", now.Sub(a.started).Round(time.Millisecond).String())
		n--
	}
	return nil
}

// wakeForStragglersLocked wakes workers waiting for work when a new
// straggler may be copied, so an idle worker asks again (and speculate
// runs) without waiting for its long poll to end.
func (c *Coordinator) wakeForStragglersLocked() {
	if c.cfg.NoSpeculation || len(c.attempts) == 0 {
		return
	}
	fresh := false
	for _, a := range c.stragglersLocked(c.clock.Now()) {
		if !c.specWoken[a.taskID] {
			c.specWoken[a.taskID] = true
			fresh = true
		}
	}
	for id := range c.specWoken {
		if c.attempts[id] == nil {
			delete(c.specWoken, id)
		}
	}
	for id := range c.speculated {
		if c.attempts[id] == nil {
			delete(c.speculated, id)
		}
	}
	if fresh {
		c.signalWorkLocked()
	}
}

// blameLocked records that worker w was lost while running a.
func (c *Coordinator) blameLocked(a *attempt, w *workerRT) {
	if len(c.blamed) >= maxBlamed {
		return
	}
	if l := c.blamed[a.taskID]; len(l) < 10 {
		c.blamed[a.taskID] = append(l, w.info.Name)
	}
}

// blamedLocked says which workers were lost running a microtask, for its
// error, and forgets them.
func (c *Coordinator) blamedLocked(id int64) string {
	l := c.blamed[id]
	delete(c.blamed, id)
	if len(l) == 0 {
		return ""
	}
	return fmt.Sprintf("; %d workers lost while running it: %s", len(l), strings.Join(l, ", "))
}

// maxBlamed bounds the microtasks whose lost workers are remembered.
const maxBlamed = 100_000

// endTaskLocked forgets every attempt of a microtask the store has just
// ended through a (committed, failed, dead or requeued), telling the
// holder of the other attempt, if any, to stop.
func (c *Coordinator) endTaskLocked(a *attempt) {
	p, b := c.attempts[a.taskID], c.backups[a.taskID]
	for _, x := range []*attempt{p, b} {
		if x == nil {
			continue
		}
		if x != a {
			x.worker.notify(cancelNotice(x))
			if x.backup {
				c.specStats.canceled++
			} else if s := x.job.stages[x.stage]; a.backup {
				// The copy beat it: its worker is at least this slow.
				if typ, ok := s.recent(); ok && typ > 0 {
					s.observePace(x.worker.info.ID, c.clock.Now().Sub(x.started).Seconds()/typ)
				}
			}
		}
		c.dropAttemptLocked(x)
	}
	if a != p && a != b {
		c.dropAttemptLocked(a)
	}
	if b != nil && a == b {
		c.specStats.won++
	}
}

// dropOneOfTwoLocked ends attempt a of a microtask that has two, leaving
// the other to carry on alone. It reports false if the microtask has no
// second attempt (the caller ends the microtask instead), and false with
// handled set if the store refused.
func (c *Coordinator) dropOneOfTwoLocked(ctx context.Context, tx store.Tx, a *attempt) (handled, ok bool, err error) {
	p, b := c.attempts[a.taskID], c.backups[a.taskID]
	if p == nil || b == nil || a != p && a != b {
		return false, false, nil
	}
	ok, err = tx.TaskDropAttempt(ctx, a.taskID, a.token)
	if err != nil || !ok {
		return true, ok, err
	}
	if a == b {
		c.dropAttemptLocked(b)
	} else {
		// The copy becomes the microtask's lease.
		delete(c.backups, a.taskID)
		if p.worker.leases[a.taskID] == p {
			delete(p.worker.leases, a.taskID)
		}
		b.backup = false
		c.attempts[a.taskID] = b
	}
	a.job.dirty = true
	return true, true, nil
}

// dropJobAttemptsLocked forgets every attempt of a job that ended,
// telling their workers to stop.
func (c *Coordinator) dropJobAttemptsLocked(j *jobRT) {
	for _, m := range []map[int64]*attempt{c.attempts, c.backups} {
		for _, a := range m {
			if a.job == j {
				a.worker.notify(cancelNotice(a))
				c.dropAttemptLocked(a)
			}
		}
	}
}

// installBackupLocked records a running microtask's speculative copy as
// the store has it (after a restart or a refresh from a shared store).
func (c *Coordinator) installBackupLocked(r *store.RunningTask, j *jobRT, old map[int64]*attempt, now time.Time) {
	if r.SpecWorker == "" {
		return
	}
	w := c.workerLocked(r.SpecWorker, now)
	b := old[r.ID]
	if b == nil || b.token != r.SpecToken || b.job != j {
		b = &attempt{taskID: r.ID, token: r.SpecToken, number: r.Attempt, job: j, stage: r.Stage, started: now,
			deadline: now.Add(j.stages[r.Stage].def.Timeout.D() + c.cfg.LeaseTTL), backup: true}
	}
	b.worker = w
	c.backups[r.ID] = b
	w.leases[r.ID] = b
	c.speculated[r.ID] = true
}

// workerLocked returns the cached worker id, adding a placeholder for
// one only the store has mentioned.
func (c *Coordinator) workerLocked(id string, seen time.Time) *workerRT {
	w := c.workers[id]
	if w == nil {
		w = &workerRT{info: task.Worker{ID: id, Name: id, State: task.WorkerAlive, LastSeen: seen}, ops: map[string]bool{}, leases: map[int64]*attempt{}}
		c.workers[id] = w
	}
	return w
}

// SpeculationStats counts speculative copies since the coordinator
// started.
type SpeculationStats struct {
	// Copies granted; Won is how many committed before the first attempt;
	// Canceled how many were stopped because the first attempt won.
	Copies, Won, Canceled int64
}

type specStats struct{ copies, won, canceled int64 }

// Speculation returns counts of speculative copies so far.
func (c *Coordinator) Speculation() SpeculationStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return SpeculationStats{Copies: c.specStats.copies, Won: c.specStats.won, Canceled: c.specStats.canceled}
}
