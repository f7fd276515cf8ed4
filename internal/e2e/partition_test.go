package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
)

// netns is a network namespace joined to the host by a veth pair: the
// host end has .1 of a /30, the namespace end .2.
type netns struct {
	name, hostIf, nsIf string
	hostIP, nsIP       string
}

// newNetns makes a uniquely named namespace and veth pair, removed when
// the test ends. It skips the test only when namespaces cannot be made
// here (not root, no ip command, or the kernel refuses).
func newNetns(t *testing.T) *netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network partition test: needs root to make a network namespace (ip netns add)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("network partition test: the ip command (iproute2) is not installed")
	}
	var b [3]byte
	rand.Read(b[:])
	tag := hex.EncodeToString(b[:])
	n := &netns{name: "myriad-part-" + tag, hostIf: "mph" + tag, nsIf: "mpn" + tag}
	if out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput(); err != nil {
		t.Skipf("network partition test: cannot make a network namespace here: ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", n.hostIf).Run() // gone with the namespace normally
		if out, err := exec.Command("ip", "netns", "del", n.name).CombinedOutput(); err != nil {
			t.Errorf("remove namespace %s: %v: %s", n.name, err, out)
		}
	})
	// A random /30 in 10.213.0.0/16, so runs side by side do not clash.
	k, _ := rand.Int(rand.Reader, big.NewInt(1<<14))
	base := 4 * int(k.Int64())
	n.hostIP = fmt.Sprintf("10.213.%d.%d", base/256, base%256+1)
	n.nsIP = fmt.Sprintf("10.213.%d.%d", base/256, base%256+2)
	for _, args := range [][]string{
		{"link", "add", n.hostIf, "type", "veth", "peer", "name", n.nsIf, "netns", n.name},
		{"addr", "add", n.hostIP + "/30", "dev", n.hostIf},
		{"link", "set", n.hostIf, "up"},
		{"-n", n.name, "addr", "add", n.nsIP + "/30", "dev", n.nsIf},
		{"-n", n.name, "link", "set", n.nsIf, "up"},
		{"-n", n.name, "link", "set", "lo", "up"},
	} {
		ipCmd(t, args...)
	}
	return n
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// setLink cuts (up=false) or restores the link between host and namespace.
func (n *netns) setLink(t *testing.T, up bool) {
	t.Helper()
	state := "down"
	if up {
		state = "up"
	}
	ipCmd(t, "link", "set", n.hostIf, state)
}

// startIn runs the myriad binary inside the namespace, with
// MYRIAD_TEST_SIDE=far in its environment.
func (n *netns) startIn(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", n.name, binary}, args...)...)
	p.cmd.Env = append(os.Environ(), "MYRIAD_TEST_SIDE=far")
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("--- output of %s ---\n%s", p.name, tail(p.out.String(), 60))
		}
	})
	return p
}

func freeAddrOn(t *testing.T, ip string) string {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// A worker on its own host (a network namespace behind a veth pair) is
// cut off while it runs microtasks. Its leases expire and the microtasks
// run on another worker; the job completes. When the link comes back the
// cut-off worker reports the results it finished meanwhile: the
// coordinator refuses them (their leases and fencing tokens are gone) and
// the job's results do not change.
func TestNetworkPartition(t *testing.T) {
	t.Parallel()
	ns := newNetns(t)
	addr := freeAddrOn(t, ns.hostIP)
	url := "http://" + addr
	startServer(t, addr, t.TempDir(), "--lease-ttl", "1s")
	far := ns.startIn(t, "partitioned worker", "worker", "--server", url, "--slots", "4", "--name", "far", "--log-level", "debug", "--exec-allow", "sh")
	c := client.New(url)
	waitWorker(t, c, "far")

	const n = 4
	sub, err := c.Submit(context.Background(), sideJob(n))
	if err != nil {
		t.Fatal(err)
	}
	// Cut the link once the far worker holds leases; their microtasks
	// (5 s each) finish during the partition.
	held := waitRunning(t, c, sub.ID, n)
	ns.setLink(t, false)
	linkUp := false
	t.Cleanup(func() {
		if !linkUp {
			ns.setLink(t, true)
		}
	})
	start(t, "near worker", "worker", "--server", url, "--slots", "4", "--name", "near", "--exec-allow", "sh")
	before := checkAllNear(t, c, sub.ID, n)
	if !workerState(t, c, "far", task.WorkerLost) {
		t.Fatal("the cut-off worker is not shown lost")
	}
	// The far worker finished its microtasks while cut off: it tried to
	// report them.
	deadline := time.Now().Add(time.Minute)
	for !regexp.MustCompile(`msg="coordinator unreachable.*results_kept=[1-9]`).MatchString(far.out.String()) {
		if time.Now().After(deadline) {
			t.Fatal("the far worker did not try to report results while cut off")
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}

	ns.setLink(t, true)
	linkUp = true
	deadline = time.Now().Add(90 * time.Second)
	for strings.Count(far.out.String(), `msg="result refused"`) < held {
		if time.Now().After(deadline) {
			t.Fatalf("the far worker's %d late results were not all refused within 90s of the link coming back (%d refusals)",
				held, strings.Count(far.out.String(), `msg="result refused"`))
		}
		select {
		case <-far.done:
			t.Fatal("the far worker exited")
		case <-time.After(50 * time.Millisecond):
		}
	}
	if !workerState(t, c, "far", task.WorkerAlive) {
		t.Fatal("the far worker is not shown alive after the link came back")
	}
	for _, l := range strings.Split(far.out.String(), "\n") {
		if strings.Contains(l, `msg="result refused"`) {
			t.Log(l)
		}
	}
	if after := checkAllNear(t, c, sub.ID, n); !reflect.DeepEqual(before, after) {
		t.Fatalf("results changed after the late completions:\nbefore %v\nafter  %v", before, after)
	}
}

// sideJob is n items through the exec operator: each microtask takes 5 s
// and returns {"by": SIDE}, where SIDE is the running worker's
// MYRIAD_TEST_SIDE ("far" in the namespace) or "near". So the results
// say which worker's completion was committed.
func sideJob(n int) *spec.Job {
	j := sleepJob(n, 0)
	j.Stages = []spec.Stage{{Op: "exec", Params: map[string]any{
		"command": []string{"sh", "-c", `sleep 5; printf '{"by":"%s"}' "${MYRIAD_TEST_SIDE:-near}"`},
	}}}
	return j
}

// checkAllNear waits for the job to complete and checks that every item
// has exactly one result and that it was made by the near worker; it
// returns the result lines.
func checkAllNear(t *testing.T, c *client.Client, id string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := c.Wait(ctx, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != task.JobCompleted || st.Counts.Done != int64(n) {
		t.Fatalf("job ended %s with counts %+v, want completed with %d done", st.State, st.Counts, n)
	}
	lines := resultLines(t, c, id)
	seen := map[string]int{}
	for _, l := range lines {
		id, data, _ := strings.Cut(l, " ")
		seen[id]++
		if strings.TrimSpace(data) != `{"by":"near"}` {
			t.Fatalf("item %s: result %s, want the near worker's {\"by\":\"near\"}", id, data)
		}
	}
	for i := range n {
		if got := seen[fmt.Sprintf("i%d", i)]; got != 1 {
			t.Fatalf("item i%d has %d results, want 1: %q", i, got, lines)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct items in the results, want %d: %q", len(seen), n, lines)
	}
	return lines
}

// waitWorker waits until a worker of that name has connected.
func waitWorker(t *testing.T, c *client.Client, name string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !workerState(t, c, name, task.WorkerAlive) {
		if time.Now().After(deadline) {
			t.Fatalf("worker %s did not connect", name)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// waitRunning waits until the job has want microtasks running and
// returns how many.
func waitRunning(t *testing.T, c *client.Client, id string, want int) int {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		st, err := c.Job(context.Background(), id)
		if err == nil && st.Counts.Running >= int64(want) {
			return int(st.Counts.Running)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	t.Fatalf("%d microtasks did not start", want)
	return 0
}

func workerState(t *testing.T, c *client.Client, name string, state string) bool {
	t.Helper()
	ws, err := c.Workers(context.Background())
	if err != nil {
		return false
	}
	for _, w := range ws {
		if w.Name == name && w.State == state {
			return true
		}
	}
	return false
}

func resultLines(t *testing.T, c *client.Client, id string) []string {
	t.Helper()
	var out []string
	err := c.Results(context.Background(), id, nil, func(l *api.ResultLine) error {
		out = append(out, l.ID+" "+string(l.Data)+" "+l.Error)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
