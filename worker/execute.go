package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/task"
)

// execute runs one lease's handler and posts its outcome.
func (w *Worker) execute(ctx context.Context, cancel context.CancelFunc, held *run) {
	defer cancel()
	l := held.lease
	// Wait for a slot: with Prefetch, leases queue here.
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return // canceled or handed back while queued
	}
	defer func() { <-w.slots }()
	if !held.state.CompareAndSwap(runQueued, runStarted) {
		return // handed back (drain) while queued
	}
	start := time.Now()
	if w.log.Enabled(ctx, slog.LevelDebug) {
		w.log.Debug("microtask started", "job", l.Job, "stage", l.Stage, "task", l.Task, "attempt", l.Attempt)
	}
	h, ok := w.reg.Lookup(l.Op)
	if !ok {
		w.post(outcome{task: l.Task, token: l.Token, failed: &api.Failure{Task: l.Task, Token: l.Token, Kind: api.FailError,
			Error: fmt.Sprintf("this worker has no handler for operator %q", l.Op)}})
		return
	}
	timeout := time.Duration(l.TimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	tctx, tcancel := context.WithTimeout(ctx, timeout)
	defer tcancel()
	t := &Task{ID: l.Task, Job: l.Job, Stage: l.Stage, Op: l.Op, Params: l.Params, Items: l.Items, Attempt: l.Attempt, Deadline: start.Add(timeout), Blobs: w.blobs,
		recorded: w.metricRecorded}
	held.task.Store(t)
	type result struct {
		out      []task.Item
		err      error
		panicked bool
	}
	ch := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- result{err: fmt.Errorf("panic: %v\n%s", p, lastLines(string(debug.Stack()), 12)), panicked: true}
			}
		}()
		out, err := h(tctx, t)
		ch <- result{out: out, err: err}
	}()
	var r result
	grace := time.NewTimer(timeout + timeoutGrace)
	defer grace.Stop()
	select {
	case r = <-ch:
	case <-grace.C:
		// The handler ignores its context: give the slot back anyway.
		r = result{err: context.DeadlineExceeded}
	}
	took := time.Since(start)
	w.pace.ran(took)
	ms := took.Milliseconds()
	if ctx.Err() != nil {
		return // canceled by the coordinator or handed back: report nothing
	}
	if r.err == nil {
		if r.out == nil {
			r.out = []task.Item{}
		}
		w.post(outcome{task: l.Task, token: l.Token, done: &api.Completion{Task: l.Task, Token: l.Token, Output: r.out, RuntimeMS: ms, StartedUS: start.UnixMicro(), Metrics: t.Metrics()}})
		return
	}
	f := &api.Failure{Task: l.Task, Token: l.Token, Kind: api.FailError, Error: r.err.Error(), RuntimeMS: ms, Permanent: IsPermanent(r.err)}
	switch {
	case r.panicked:
		f.Kind = api.FailCrash
	case errors.Is(r.err, context.DeadlineExceeded) || tctx.Err() == context.DeadlineExceeded:
		f.Kind = api.FailTimeout
		f.Error = fmt.Sprintf("ran longer than the stage's timeout of %v", timeout)
	default:
		var ee *ExitError
		if errors.As(r.err, &ee) {
			f.Kind = api.FailExit
		}
	}
	w.post(outcome{task: l.Task, token: l.Token, failed: f})
}

func (w *Worker) post(o outcome) {
	w.mu.Lock()
	w.outbox = append(w.outbox, o)
	w.mu.Unlock()
	w.kick()
}

// ExitError is a command that exited non-zero; the exec operator returns
// it so the failure is reported with kind "exit".
type ExitError struct {
	Code   int
	Stderr string // the last lines
}

func (e *ExitError) Error() string {
	if e.Stderr == "" {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return fmt.Sprintf("exit status %d: %s", e.Code, e.Stderr)
}

func lastLines(s string, n int) string {
	count := 0
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			count++
			if count > n {
				return s[i+1:]
			}
		}
	}
	return s
}
