package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
)

// poisonScript echoes its item back, except that the item "poison" does
// what the test asks to the worker process running it (its parent), and
// the item "exit" fails with exit code 3 and a line on stderr.
func poisonScript(toParent string) string {
	return `read x; case "$x" in
*poison*) ` + toParent + `; exit 0;;
*exit*) echo "boom: cannot read the input" >&2; exit 3;;
esac; printf '%s' "$x"`
}

// A microtask that kills (or freezes) the worker process running it is
// retried on another worker, then marked dead with the reason; it takes
// down exactly retries+1 workers, the rest of the job completes on the
// others, and every other item has one result.
func TestPoisonMicrotaskBounded(t *testing.T) {
	t.Parallel()
	for name, toParent := range map[string]string{
		"crash": "kill -9 $PPID",    // the worker process dies
		"hang":  "kill -STOP $PPID", // the worker process hangs
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			addr := freeAddr(t)
			url := "http://" + addr
			startServer(t, addr, t.TempDir(), "--lease-ttl", "2s")
			const nWorkers = 4
			var workers []*proc
			for i := 0; i < nWorkers; i++ {
				workers = append(workers, start(t, fmt.Sprintf("worker%d", i), "worker", "--server", url, "--slots", "1", "--name", fmt.Sprintf("w%d", i), "--exec-allow", "sh"))
			}
			c := client.New(url)
			waitWorkers(t, c, nWorkers)
			retries := 1
			items := []any{"poison", "exit"}
			for i := 0; i < 8; i++ {
				items = append(items, fmt.Sprintf("ok%d", i))
			}
			sub, err := c.Submit(context.Background(), &spec.Job{Name: "poison", Input: spec.Input{Items: items}, Stages: []spec.Stage{{
				Name: "run", Op: "exec", Retries: &retries, Backoff: "10ms",
				Params: map[string]any{"command": []string{"sh", "-c", poisonScript(toParent)}},
			}}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			st, err := c.Wait(ctx, sub.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != task.JobCompletedWithErrors || st.Counts.Dead != 2 || st.Counts.Done != 8 {
				t.Fatalf("job %s %+v, want 8 done and 2 dead", st.State, st.Counts)
			}
			res := map[string]*api.ResultLine{}
			if err := c.Results(ctx, sub.ID, nil, func(l *api.ResultLine) error {
				if res[l.ID] != nil {
					return fmt.Errorf("item %s has two results", l.ID)
				}
				res[l.ID] = l
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(res) != len(items) {
				t.Fatalf("%d results, want %d", len(res), len(items))
			}
			for i := 0; i < 8; i++ {
				k := fmt.Sprintf("ok%d", i) // string items are named by position
				if r := res[fmt.Sprint(i+2)]; r == nil || r.Error != "" || string(r.Data) != fmt.Sprintf("%q", k) {
					t.Fatalf("result of %s: %+v", k, r)
				}
			}
			if e := res["0"].Error; !strings.Contains(e, "dead after 2 attempts") || !strings.Contains(e, "crash: worker") ||
				!strings.Contains(e, "2 workers lost while running it") {
				t.Fatalf("poison's error %q: want it dead after 2 attempts, naming the crash and the 2 workers", e)
			}
			if e := res["1"].Error; !strings.Contains(e, "exit status 3") || !strings.Contains(e, "boom: cannot read the input") {
				t.Fatalf("exit's error %q: want the exit code and the last stderr lines", e)
			}
			// It took down exactly retries+1 workers; the others live on.
			ws, err := c.Workers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			lost := 0
			for _, w := range ws {
				if w.State == task.WorkerLost {
					lost++
				}
			}
			if lost != retries+1 {
				t.Fatalf("%d workers lost, want %d: %+v", lost, retries+1, ws)
			}
			if name == "crash" {
				exited := 0
				for _, w := range workers {
					select {
					case <-w.done:
						exited++
					default:
					}
				}
				if exited != retries+1 {
					t.Fatalf("%d worker processes died, want %d", exited, retries+1)
				}
			}
		})
	}
}

// waitWorkers waits until n workers are connected, so the job is spread
// over all of them.
func waitWorkers(t *testing.T, c *client.Client, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ws, err := c.Workers(context.Background())
		if err == nil && len(ws) >= n {
			return
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
	}
	t.Fatalf("fewer than %d workers connected", n)
}

// Supervised workers (myriad worker --supervise): a microtask that
// crashes its worker process is reported failed at once by the
// supervisor, with the exit status and the last lines of the dead
// process's stderr — long before its lease (60 s here) would expire —
// retried on another worker, then dead; the supervisors start new
// workers, which finish the job.
func TestSupervisedWorkerCrashReported(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	url := "http://" + addr
	startServer(t, addr, t.TempDir(), "--lease-ttl", "60s")
	for i := 0; i < 2; i++ {
		start(t, fmt.Sprintf("supervisor%d", i), "worker", "--supervise", "--server", url, "--slots", "1", "--name", fmt.Sprintf("s%d", i), "--exec-allow", "sh")
	}
	c := client.New(url)
	waitWorkers(t, c, 2)
	retries := 1
	items := []any{"poison", "ok0", "ok1", "ok2", "ok3"}
	sub, err := c.Submit(context.Background(), &spec.Job{Name: "supervised", Input: spec.Input{Items: items}, Stages: []spec.Stage{{
		Name: "run", Op: "exec", Retries: &retries, Backoff: "10ms",
		// SIGABRT: the Go runtime prints a crash dump and exits with 2.
		Params: map[string]any{"command": []string{"sh", "-c", poisonScript("kill -ABRT $PPID")}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	// Well within the 60 s lease TTL: only the supervisors' reports can
	// end the poison's attempts this soon.
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	st, err := c.Wait(ctx, sub.ID, nil)
	if err != nil {
		t.Fatalf("job did not end within 45 s (before any lease expiry): %v", err)
	}
	if st.State != task.JobCompletedWithErrors || st.Counts.Dead != 1 || st.Counts.Done != 4 {
		t.Fatalf("job %s %+v, want 4 done and 1 dead", st.State, st.Counts)
	}
	var poisonErr string
	if err := c.Results(ctx, sub.ID, nil, func(l *api.ResultLine) error {
		if l.ID == "0" {
			poisonErr = l.Error
		} else if l.Error != "" {
			return fmt.Errorf("item %s failed: %s", l.ID, l.Error)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"crash: worker process s", "exit status 2", "last stderr lines:\n", "dead after 2 attempts"} {
		if !strings.Contains(poisonErr, want) {
			t.Fatalf("poison's error %q: want it to contain %q", poisonErr, want)
		}
	}
	t.Logf("poison's error: %s", poisonErr)
}
