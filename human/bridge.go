package human

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// The bridge: the Service leases human stages' microtasks from the
// coordinator through the worker protocol, as a worker offering the
// "human" operator would, holds each while its items are collected
// (heartbeating it), and completes it with the labelled items.

// bridgeState is owned by the bridge goroutine.
type bridgeState struct {
	seq    uint64
	wait   time.Duration
	failed []api.Failure // stages that cannot start, to report
	retry  []api.TaskRef // leases to hand back (a transient failure)
}

func (s *Service) bridge(ctx context.Context) {
	b := &bridgeState{wait: time.Second}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		b.seq++
		req := s.bridgeRequest(b)
		reports := len(req.Done)+len(req.Failed)+len(req.Released) > 0
		callCtx, cancel := context.WithCancel(ctx)
		if !reports {
			// A long poll; a finished stage cuts it short: the coordinator
			// answers it at once (Wake), with any leases it took, and the
			// next round trip reports the stage. Only if the coordinator
			// does not know this worker yet is the call itself cut short.
			req.WaitMS = int(b.wait.Milliseconds())
			go func() {
				select {
				case <-s.bridgeKick:
					if !s.coord.Wake(WorkerID) {
						cancel()
					}
				case <-callCtx.Done():
				}
			}()
		}
		resp, err := s.coord.Sync(callCtx, req)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, context.Canceled) {
				continue // kicked before the coordinator knew us
			}
			s.log.Warn("human bridge: sync with the coordinator", "err", err)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if resp.HeartbeatMS > 0 {
			b.wait = time.Duration(resp.HeartbeatMS) * time.Millisecond
		}
		b.failed, b.retry = b.failed[:0], b.retry[:0]
		s.handleSync(ctx, b, req, resp)
	}
}

// bridgeRequest lists the stages held and reports the finished ones.
func (s *Service) bridgeRequest(b *bridgeState) *api.SyncRequest {
	req := &api.SyncRequest{
		Worker: api.WorkerInfo{ID: WorkerID, Name: "annotators", Ops: []string{Op}},
		Seq:    b.seq,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.order {
		ref := api.TaskRef{Task: st.rec.TaskID, Token: st.rec.Token}
		if st.rec.State == store.HumanFinished {
			var out []task.Item
			if err := json.Unmarshal(st.rec.Output, &out); err != nil {
				b.failed = append(b.failed, api.Failure{Task: ref.Task, Token: ref.Token, Kind: api.FailError,
					Error: fmt.Sprintf("decode stored labels: %v", err), Permanent: true})
				continue
			}
			req.Done = append(req.Done, api.Completion{Task: ref.Task, Token: ref.Token, Output: out})
			continue
		}
		req.Running = append(req.Running, ref)
	}
	req.Failed = append(req.Failed, b.failed...)
	req.Released = append(req.Released, b.retry...)
	// One free slot at a time: the coordinator counts other workers' free
	// slots when it shares out scarce work, and a large idle offer here
	// would shrink what machine workers get.
	held := len(req.Running) + len(req.Done)
	req.Worker.Slots = min(held+1, maxStages)
	req.Want = req.Worker.Slots - held
	return req
}

func (s *Service) stageOfTask(task int64) *stageRT {
	for _, st := range s.order {
		if st.rec.TaskID == task {
			return st
		}
	}
	return nil
}

// handleSync applies the coordinator's answer.
func (s *Service) handleSync(ctx context.Context, b *bridgeState, req *api.SyncRequest, resp *api.SyncResponse) {
	done := map[int64]bool{}
	for _, d := range req.Done {
		done[d.Task] = true
	}
	ended := func(task int64, why string) {
		err := s.do(ctx, func(ctx context.Context, tx store.HumanTx) error {
			st := s.stageOfTask(task)
			if st == nil {
				return nil
			}
			switch {
			case done[task] && why == "accepted":
				st.rec.State = store.HumanReported
			case why == "accepted":
				return nil // a failure report went through
			default:
				// The coordinator no longer counts on this lease. If the
				// job goes on it will lease the stage again; the answers
				// are kept for then. If the job has ended, so does the
				// stage.
				return nil
			}
			if err := tx.HumanStageUpdate(ctx, &st.rec); err != nil {
				return err
			}
			s.removeStageLocked(st, "reported")
			return nil
		})
		if err != nil && ctx.Err() == nil {
			s.log.Error("human bridge: record the coordinator's answer", "task", task, "err", err)
		}
	}
	for _, id := range resp.Accepted {
		ended(id, "accepted")
	}
	var lost []int64
	for _, r := range resp.Refused {
		lost = append(lost, r.Task)
	}
	for _, c := range resp.Cancel {
		lost = append(lost, c.Task)
	}
	for _, id := range lost {
		s.checkJobEnded(ctx, id)
	}
	for i := range resp.Leases {
		l := &resp.Leases[i]
		err := s.startStage(ctx, l)
		var bad *errBadItems
		switch {
		case errors.As(err, &bad):
			s.log.Warn("human stage cannot start", "job", l.Job, "stage", l.Stage, "err", err)
			b.failed = append(b.failed, api.Failure{Task: l.Task, Token: l.Token, Kind: api.FailError, Error: err.Error(), Permanent: true})
		case err != nil:
			s.log.Error("human stage start failed; handing it back", "job", l.Job, "stage", l.Stage, "err", err)
			b.retry = append(b.retry, api.TaskRef{Task: l.Task, Token: l.Token})
		}
	}
}

// checkJobEnded ends the stage of a lease the coordinator took back if
// its job has ended (canceled); otherwise the stage waits for a new
// lease.
func (s *Service) checkJobEnded(ctx context.Context, taskID int64) {
	s.mu.Lock()
	st := s.stageOfTask(taskID)
	s.mu.Unlock()
	if st == nil {
		return
	}
	js, err := s.coord.Job(ctx, st.key.job)
	if err == nil && !js.State.Final() {
		return
	}
	err = s.do(ctx, func(ctx context.Context, tx store.HumanTx) error {
		if s.stages[st.key] != st {
			return nil
		}
		now := s.clock.Now()
		for _, a := range s.leased {
			if a.stage == st {
				if err := s.moveLocked(ctx, tx, a, store.AssignWithdrawn, "", 0, now); err != nil {
					return err
				}
			}
		}
		if st.rec.State == store.HumanFinished {
			st.rec.State = store.HumanReported // its result was committed before
		} else {
			st.rec.State = store.HumanCanceled
		}
		st.rec.FinishedAt = now
		if err := tx.HumanStageUpdate(ctx, &st.rec); err != nil {
			return err
		}
		s.removeStageLocked(st, "canceled")
		return nil
	})
	if err != nil && ctx.Err() == nil {
		s.log.Error("human bridge: end a stage", "job", st.key.job, "err", err)
	}
}

// startStage takes a new lease of a human stage: it stores the stage and
// its items and starts handing them out. A stage leased again (after the
// coordinator took it back) resumes with the answers it has.
func (s *Service) startStage(ctx context.Context, l *api.Lease) error {
	js, err := s.coord.Job(ctx, l.Job)
	if err != nil {
		return fmt.Errorf("job %s: %w", l.Job, err)
	}
	idx := -1
	for i, st := range js.Stages {
		if st.Name == l.Stage {
			idx = i
		}
	}
	if idx < 0 {
		return &errBadItems{fmt.Sprintf("job %s has no stage %q", l.Job, l.Stage)}
	}
	key := stageKey{l.Job, idx}
	p, errs := ParseParams(l.Params, l.Stage)
	if len(errs) > 0 {
		return &errBadItems{fmt.Sprintf("params: %s: %s", errs[0].Field, errs[0].Msg)}
	}
	items, err := p.buildItems(l.Job, idx, l.Items, p.labelNames())
	if err != nil {
		return err
	}
	info, err := json.Marshal(stageInfo{JobName: js.Name, StageName: l.Stage, Priority: js.Priority, Params: l.Params})
	if err != nil {
		return err
	}
	return s.do(ctx, func(ctx context.Context, tx store.HumanTx) error {
		now := s.clock.Now()
		if st := s.stages[key]; st != nil {
			st.rec.TaskID, st.rec.Token = l.Task, l.Token
			s.log.Info("human stage leased again", "job", l.Job, "stage", l.Stage, "task", l.Task)
			return tx.HumanStageUpdate(ctx, &st.rec)
		}
		rec := store.HumanStage{JobID: l.Job, Stage: idx, TaskID: l.Task, Token: l.Token, State: store.HumanCollecting,
			Info: info, CreatedAt: now.UTC()}
		if err := tx.HumanStageInsert(ctx, &rec); err != nil {
			return err
		}
		// Fresh copies: a retried op must not see IDs of a rolled-back try.
		fresh := make([]*store.HumanItem, len(items))
		for i, it := range items {
			c := *it
			c.ID = 0
			fresh[i] = &c
		}
		if err := tx.HumanItemInsert(ctx, fresh); err != nil {
			return err
		}
		var inf stageInfo
		json.Unmarshal(info, &inf)
		st := s.newStageRT(rec, &inf, p)
		for _, it := range fresh {
			st.addItem(it)
		}
		s.insertStageLocked(st)
		s.log.Info("human stage started", "job", l.Job, "stage", l.Stage, "items", len(fresh))
		return nil
	})
}
