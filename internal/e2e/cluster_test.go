package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/store/postgres/pgtest"
)

// startShared starts `myriad server` on a shared PostgreSQL store.
func startShared(t *testing.T, name, addr, store string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"server", "--listen", addr, "--store", store, "--sync", "normal", "--log-level", "debug"}, extra...)
	p := start(t, name, args...)
	waitReady(t, "http://"+addr, p)
	return p
}

// waitOutput waits until a process has printed s.
func waitOutput(t *testing.T, p *proc, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not print %q", p.name, s)
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited before printing %q", p.name, s)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Two coordinators share one PostgreSQL database; four worker processes
// each know both. The leader is killed with SIGKILL mid-job: the other
// takes over the duties that run once, the workers of the dead one fail
// over with their leases and results, and every item has exactly one
// result.
func TestClusterLeaderKilledMidJob(t *testing.T) {
	t.Parallel()
	db := pgtest.URL(t)
	addrA, addrB := freeAddr(t), freeAddr(t)
	urlA, urlB := "http://"+addrA, "http://"+addrB
	a := startShared(t, "coordinatorA", addrA, db, "--lease-ttl", "2s")
	waitOutput(t, a, "leading", 10*time.Second)
	b := startShared(t, "coordinatorB", addrB, db, "--lease-ttl", "2s")
	for i := 0; i < 4; i++ {
		servers := urlA + "," + urlB
		if i%2 == 1 {
			servers = urlB + "," + urlA
		}
		start(t, fmt.Sprintf("worker%d", i), "worker", "--server", servers, "--slots", "8", "--name", fmt.Sprintf("w%d", i))
	}
	// Submitted to the follower: the leader learns of it from the store.
	cb := client.New(urlB)
	const n = 20000
	sub, err := cb.Submit(context.Background(), sleepJob(n, 1))
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	waitProgress(t, cb, sub.ID, 0.3)
	t.Logf("30%% done after %v; killing the leader", time.Since(began).Round(time.Millisecond))
	a.kill()
	waitOutput(t, b, "leading", 10*time.Second)
	t.Logf("the other coordinator leads %v later", time.Since(began).Round(time.Millisecond))
	// The client is given both URLs, the dead one first.
	checkExactlyOnce(t, client.New(urlA+","+urlB), sub.ID, n)
	t.Logf("job complete after %v", time.Since(began).Round(time.Millisecond))
}

// A server given something other than a postgres:// URL as its store
// refuses to start, naming the flag.
func TestServerBadStoreURL(t *testing.T) {
	t.Parallel()
	code, _, stderr := runCLI(t, t.TempDir(), "server", "--store", "mysql://x", "--listen", freeAddr(t))
	if code != 2 || !strings.Contains(stderr, "--store") {
		t.Fatalf("exit %d, stderr %q; want 2 naming --store", code, stderr)
	}
}
