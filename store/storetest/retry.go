package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// testRetryReopen is what POST /v1/jobs/{id}/retry asks of a store: a job
// that ended completed_with_errors is reopened (running again, no finish
// time, listed as active), its dead microtask gets a fresh attempt budget
// and a new token (the dead attempt's token stays refused), its stage
// reopens, and the job can end a second time.
func testRetryReopen(t *testing.T, s store.Store) {
	ctx := context.Background()
	insertJob(t, s, job("j", 1), items("a"), items("b"))
	cl := claim(t, s, "j", 0, 2, "w")
	if len(cl) != 2 {
		t.Fatalf("claimed %d", len(cl))
	}
	finish(t, s, &store.TaskFinishParams{ID: cl[0].ID, Token: cl[0].Token, State: task.Done, Output: items("A")})
	finish(t, s, &store.TaskFinishParams{ID: cl[1].ID, Token: cl[1].Token, State: task.Dead, Error: "boom"})
	t1 := t0.Add(time.Minute)
	tx(t, s, func(tx store.Tx) error {
		if err := tx.StageSetState(ctx, "j", 0, task.StageDone); err != nil {
			return err
		}
		ended, err := tx.JobFinish(ctx, "j", task.JobCompletedWithErrors, t1)
		if err == nil && !ended {
			t.Error("JobFinish did not end the job")
		}
		return err
	})
	if j, err := s.JobGet(ctx, "j"); err != nil || j.State != task.JobCompletedWithErrors || j.FinishedAt == nil {
		t.Fatalf("ended job: %+v %v", j, err)
	}

	var revived []store.StageCount
	tx(t, s, func(tx store.Tx) error {
		var err error
		if revived, err = tx.TaskRevive(ctx, "j"); err != nil {
			return err
		}
		if err := tx.JobSetState(ctx, "j", task.JobRunning, t1); err != nil {
			return err
		}
		return tx.StageSetState(ctx, "j", 0, task.StageRunning)
	})
	if len(revived) != 1 || revived[0].JobID != "j" || revived[0].Stage != 0 || revived[0].N != 1 {
		t.Fatalf("revived: %+v", revived)
	}
	j, err := s.JobGet(ctx, "j")
	if err != nil || j.State != task.JobRunning || j.FinishedAt != nil {
		t.Fatalf("reopened job: %+v %v", j, err)
	}
	active, err := s.JobList(ctx, &store.JobListParams{Active: true})
	if err != nil || len(active) != 1 || active[0].ID != "j" {
		t.Fatalf("active jobs after reopening: %+v %v", active, err)
	}
	if st, err := s.StageStates(ctx, "j"); err != nil || st[0] != task.StageRunning {
		t.Fatalf("stage states: %v %v", st, err)
	}
	if c := counts(t, s, "j"); c[0].Ready != 1 || c[0].Dead != 0 || c[0].Done != 1 {
		t.Fatalf("counts after revive: %+v", c[0])
	}
	dead := task.Dead
	if l, err := s.TaskList(ctx, &store.TaskListParams{JobID: "j", State: &dead}); err != nil || len(l) != 0 {
		t.Fatalf("dead after revive: %+v %v", l, err)
	}
	again := claim(t, s, "j", 0, 2, "w2")
	if len(again) != 1 || again[0].ID != cl[1].ID || again[0].Attempt != 1 || again[0].Token <= cl[1].Token {
		t.Fatalf("claim after revive: %+v (dead attempt %+v)", again, cl[1])
	}
	if finish(t, s, &store.TaskFinishParams{ID: cl[1].ID, Token: cl[1].Token, State: task.Done}) {
		t.Fatal("the dead attempt's token was accepted after the revive")
	}
	if !finish(t, s, &store.TaskFinishParams{ID: again[0].ID, Token: again[0].Token, State: task.Done, Output: items("B")}) {
		t.Fatal("the revived attempt's completion was refused")
	}
	tx(t, s, func(tx store.Tx) error {
		ended, err := tx.JobFinish(ctx, "j", task.JobCompleted, t1.Add(time.Minute))
		if err == nil && !ended {
			t.Error("a reopened job could not end again")
		}
		return err
	})
	if j, err := s.JobGet(ctx, "j"); err != nil || j.State != task.JobCompleted || j.FinishedAt == nil {
		t.Fatalf("job ended again: %+v %v", j, err)
	}
}
