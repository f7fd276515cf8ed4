package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/store/sqlite"
)

// waitCounts polls the job until ok accepts its status.
func waitCounts(t *testing.T, c *client.Client, id, what string, timeout time.Duration, ok func(*api.JobStatus) bool) *api.JobStatus {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last *api.JobStatus
	for time.Now().Before(deadline) {
		st, err := c.Job(context.Background(), id)
		if err == nil {
			last = st
			if ok(st) {
				return st
			}
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	if last != nil {
		t.Fatalf("%s: not within %v; counts %+v", what, timeout, last.Counts)
	}
	t.Fatalf("%s: not within %v", what, timeout)
	return nil
}

// waitFor polls ok until it holds, or fails the test after timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !ok(); {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not within %v", what, timeout)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

func exitsCleanly(t *testing.T, p *proc, timeout time.Duration) {
	t.Helper()
	code, ok := p.wait(timeout)
	if !ok {
		t.Fatalf("%s did not exit within %v of SIGTERM", p.name, timeout)
	}
	if code != 0 {
		t.Fatalf("%s exited with status %d after SIGTERM", p.name, code)
	}
}

// SIGTERM on a worker: it takes no new work and lets its running
// microtasks finish (they outlive the lease TTL, so the drain must keep
// sending heartbeats), their results are accepted, and it exits 0.
func TestWorkerDrainFinishesRunning(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	url := "http://" + addr
	startServer(t, addr, t.TempDir(), "--lease-ttl", "2s")
	w := start(t, "worker", "worker", "--server", url, "--slots", "2", "--drain-timeout", "60s", "--log-level", "debug")
	c := client.New(url)
	const n = 4
	sub, err := c.Submit(context.Background(), sleepJob(n, 5000))
	if err != nil {
		t.Fatal(err)
	}
	waitCounts(t, c, sub.ID, "two microtasks running", time.Minute, func(st *api.JobStatus) bool { return st.Counts.Running == 2 })
	// Leased is not yet started: wait for the worker to say both started
	// (a lease still on its way when SIGTERM lands is handed back).
	waitFor(t, "the worker to start both microtasks", time.Minute, func() bool {
		return strings.Count(w.out.String(), `msg="microtask started"`) == 2
	})
	w.signal(syscall.SIGTERM)
	exitsCleanly(t, w, 90*time.Second)
	if strings.Contains(w.out.String(), `msg="result refused"`) {
		t.Fatalf("results of the drained microtasks were refused (their leases expired during the drain):\n%s", tail(w.out.String(), 20))
	}
	st := waitCounts(t, c, sub.ID, "2 done, 2 ready", 10*time.Second, func(st *api.JobStatus) bool {
		return st.Counts.Done == 2 && st.Counts.Ready == 2 && st.Counts.Running == 0
	})
	if st.Counts.Failed != 0 || st.Counts.Dead != 0 {
		t.Fatalf("counts after the drain %+v: want no failure", st.Counts)
	}
	// Another worker finishes the job: nothing lost, nothing doubled.
	start(t, "worker2", "worker", "--server", url, "--slots", "2")
	checkExactlyOnce(t, c, sub.ID, n)
}

// SIGTERM on a worker whose microtasks outlast --drain-timeout: it hands
// them back and the coordinator re-queues them at once (the lease TTL is
// a minute; they are ready again long before, and never pass through
// failed); another worker takes them straight away.
func TestWorkerDrainHandsBack(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	url := "http://" + addr
	startServer(t, addr, t.TempDir(), "--lease-ttl", "60s")
	w := start(t, "worker", "worker", "--server", url, "--slots", "2", "--drain-timeout", "300ms")
	c := client.New(url)
	sub, err := c.Submit(context.Background(), sleepJob(3, 120_000))
	if err != nil {
		t.Fatal(err)
	}
	waitCounts(t, c, sub.ID, "two microtasks running", time.Minute, func(st *api.JobStatus) bool { return st.Counts.Running == 2 })
	w.signal(syscall.SIGTERM)
	exitsCleanly(t, w, 30*time.Second)
	// The lease TTL is 60s: only a hand-back makes them ready this soon.
	st := waitCounts(t, c, sub.ID, "all 3 ready again after the hand-back", 20*time.Second, func(st *api.JobStatus) bool {
		return st.Counts.Ready == 3 && st.Counts.Running == 0
	})
	if st.Counts.Failed != 0 || len(st.Errors) != 0 {
		t.Fatalf("a hand-back is not a failure: counts %+v, errors %+v", st.Counts, st.Errors)
	}
	start(t, "worker2", "worker", "--server", url, "--slots", "4")
	waitCounts(t, c, sub.ID, "all 3 running on the second worker", 20*time.Second, func(st *api.JobStatus) bool { return st.Counts.Running == 3 })
}

// SIGTERM on the coordinator mid-job: it stops cleanly (exit 0, the
// store closed: SQLite's write-ahead log checkpointed away), and a
// restart on the same data resumes the job to exactly-once results.
func TestCoordinatorSIGTERMResumes(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	url := "http://" + addr
	data := t.TempDir()
	srv := startServer(t, addr, data, "--lease-ttl", "2s")
	for i := 0; i < 2; i++ {
		start(t, "worker", "worker", "--server", url, "--slots", "4")
	}
	c := client.New(url)
	const n = 600
	sub, err := c.Submit(context.Background(), sleepJob(n, 10))
	if err != nil {
		t.Fatal(err)
	}
	waitProgress(t, c, sub.ID, 0.3)
	srv.signal(syscall.SIGTERM)
	exitsCleanly(t, srv, 30*time.Second)
	if !strings.Contains(srv.out.String(), `msg="coordinator stopped"`) {
		t.Fatalf("the coordinator did not say it stopped:\n%s", tail(srv.out.String(), 20))
	}
	if fi, err := os.Stat(filepath.Join(data, sqlite.FileName+"-wal")); err == nil && fi.Size() > 0 {
		t.Fatalf("the store was not closed: its write-ahead log holds %d bytes", fi.Size())
	}
	startServer(t, addr, data, "--lease-ttl", "2s")
	checkExactlyOnce(t, c, sub.ID, n)
}
