package main

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"time"

	"github.com/myriadhq/myriad/client"
)

// kill is one scheduled SIGKILL: of the coordinator or of a worker, once
// the job has done at least `at` microtasks.
type kill struct {
	at   int64
	kind killKind
}

type killKind int

const (
	killCoord  killKind = iota // SIGKILL the coordinator, restart it
	killWorker                 // SIGKILL a worker, restart it
	freeze                     // SIGSTOP a worker past the lease TTL, then SIGCONT
	termWorker                 // SIGTERM a worker (it drains), restart it
)

// schedule draws the kills: each at a random point between 5% and 80%
// of the job, coordinator and worker kills mixed in a random order.
func (cl *cluster) schedule() []kill {
	cfg := cl.cfg
	var kinds []killKind
	for kind, n := range []int{cfg.CoordKills, cfg.WorkerKills, cfg.Freezes, cfg.Terms} {
		for range n {
			kinds = append(kinds, killKind(kind))
		}
	}
	kinds = shuffled(cl.rng, kinds)
	ats := make([]int64, len(kinds))
	for i := range ats {
		ats[i] = int64(float64(cfg.N) * (0.05 + 0.75*cl.rng.Float64()))
	}
	slices.Sort(ats)
	out := make([]kill, len(kinds))
	for i := range out {
		out[i] = kill{at: ats[i], kind: kinds[i]}
	}
	return out
}

// killer carries out the schedule. Each kill waits until the job has
// reached its point and made progress since the previous kill, so every
// kill lands mid-job on a cluster that is working.
func (cl *cluster) killer(ctx context.Context, c *client.Client, id string) error {
	plan := cl.schedule()
	last := int64(-1)
	for i, k := range plan {
		for {
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			st, err := c.Job(rctx, id)
			cancel()
			if err == nil {
				if st.State.Final() {
					return fmt.Errorf("the job ended (%s) after %d of %d kills: give it more microtasks (-n) or more -rounds", st.State, i, len(plan))
				}
				if st.Counts.Done >= k.at && st.Counts.Done > last {
					last = st.Counts.Done
					break
				}
			}
			if ctx.Err() != nil {
				return fmt.Errorf("waiting for the job to reach %d done for kill %d: %w", k.at, i+1, ctx.Err())
			}
			pause(ctx, 10*time.Millisecond)
		}
		var err error
		switch k.kind {
		case killCoord:
			err = cl.killCoord(ctx, last)
		case killWorker:
			err = cl.killWorker(last)
		case freeze:
			cl.freezeWorker(last)
		case termWorker:
			err = cl.termWorker(last)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (cl *cluster) killCoord(ctx context.Context, done int64) error {
	cl.coord.kill()
	cl.sum.CoordKills++
	delay := time.Duration(cl.rng.IntN(300)) * time.Millisecond
	fmt.Fprintf(cl.cfg.Log, "chaos: %s SIGKILL coordinator at %d done; restart in %v\n", time.Now().Format("15:04:05.000"), done, delay)
	pause(ctx, delay)
	if err := cl.startCoord(ctx); err != nil {
		return fmt.Errorf("restart the coordinator: %w", err)
	}
	cl.sum.CoordRestarts++
	return nil
}

func (cl *cluster) killWorker(done int64) error {
	i := cl.rng.IntN(len(cl.workers))
	w := cl.workers[i]
	w.kill()
	cl.sum.WorkerKills++
	delay := time.Duration(cl.rng.IntN(300)) * time.Millisecond
	fmt.Fprintf(cl.cfg.Log, "chaos: %s SIGKILL %s at %d done; restart in %v\n", time.Now().Format("15:04:05.000"), w.name, done, delay)
	time.Sleep(delay) // the pool runs short a worker for a while: part of the chaos
	p, err := cl.startWorker(i)
	if err != nil {
		return fmt.Errorf("restart %s: %w", w.name, err)
	}
	cl.workers[i] = p
	cl.sum.WorkerRestarts++
	return nil
}

// freezeWorker stops a worker with SIGSTOP for longer than the lease TTL
// and lets it go on afterwards: its leases expire while it is alive, its
// microtasks run elsewhere, and what it reports on waking must be
// refused. The killer does not wait for it.
func (cl *cluster) freezeWorker(done int64) {
	w := cl.workers[cl.rng.IntN(len(cl.workers))]
	d := 2*cl.cfg.LeaseTTL + time.Duration(cl.rng.IntN(1000))*time.Millisecond
	if w.exited() {
		return
	}
	w.cmd.Process.Signal(syscall.SIGSTOP)
	cl.sum.Freezes++
	fmt.Fprintf(cl.cfg.Log, "chaos: %s SIGSTOP %s at %d done for %v\n", time.Now().Format("15:04:05.000"), w.name, done, d)
	cl.wg.Add(1)
	go func() {
		defer cl.wg.Done()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			w.cmd.Process.Signal(syscall.SIGCONT)
		case <-w.done: // killed meanwhile
		}
	}()
}

// termWorker stops a worker with SIGTERM, waits for it to drain and exit,
// and starts it again. A worker that does not exit 0 is a problem.
func (cl *cluster) termWorker(done int64) error {
	i := cl.rng.IntN(len(cl.workers))
	w := cl.workers[i]
	fmt.Fprintf(cl.cfg.Log, "chaos: %s SIGTERM %s at %d done\n", time.Now().Format("15:04:05.000"), w.name, done)
	if !w.stop(time.Minute) {
		cl.sum.problem("%s did not drain and exit 0 on SIGTERM (see %s)", w.name, w.log.Name())
	}
	cl.sum.Terms++
	p, err := cl.startWorker(i)
	if err != nil {
		return fmt.Errorf("restart %s: %w", w.name, err)
	}
	cl.workers[i] = p
	cl.sum.WorkerRestarts++
	return nil
}
