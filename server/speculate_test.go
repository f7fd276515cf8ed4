package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/server"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/store/postgres/pgtest"
	"github.com/myriadhq/myriad/task"
)

// stragglerSetup runs a job of four noop microtasks where worker S holds
// one and never finishes, and worker A finishes the other three at once.
// It returns S's lease.
func stragglerSetup(t *testing.T, b *bundle, j *spec.Job) (c *client.Client, id string, ls api.Lease) {
	t.Helper()
	c = client.New(b.url, client.WithToken(testToken))
	s, a := handWorker("S"), handWorker("A")
	a.Slots = 3
	rawSync(t, b.url, &api.SyncRequest{Worker: s, Seq: 1})
	rawSync(t, b.url, &api.SyncRequest{Worker: a, Seq: 1})
	id = submitJob(t, c, j)
	got := rawSync(t, b.url, &api.SyncRequest{Worker: s, Seq: 2, Want: 1})
	if len(got.Leases) != 1 {
		t.Fatalf("S got %d leases", len(got.Leases))
	}
	ls = got.Leases[0]
	ga := rawSync(t, b.url, &api.SyncRequest{Worker: a, Seq: 2, Want: 3})
	if len(ga.Leases) != 3 {
		t.Fatalf("A got %d leases, want 3", len(ga.Leases))
	}
	var done []api.Completion
	for _, l := range ga.Leases {
		done = append(done, api.Completion{Task: l.Task, Token: l.Token, Output: l.Items})
	}
	if r := rawSync(t, b.url, &api.SyncRequest{Worker: a, Seq: 3, Done: done}); len(r.Accepted) != 3 {
		t.Fatalf("A's completions: %+v", r)
	}
	return c, id, ls
}

func fourItems() *spec.Job {
	return &spec.Job{Input: spec.Input{Items: []any{"a", "b", "c", "d"}}, Stages: []spec.Stage{{Op: "noop"}}}
}

// waitLease long-polls as w until it is granted a lease.
func waitLease(t *testing.T, url string, w api.WorkerInfo, seq *uint64) api.Lease {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		*seq++
		r := rawSync(t, url, &api.SyncRequest{Worker: w, Seq: *seq, Want: 1, WaitMS: 2000})
		if len(r.Leases) > 0 {
			return r.Leases[0]
		}
	}
	t.Fatalf("worker %s got no lease in 30s", w.ID)
	return api.Lease{}
}

func out(id, v string) []task.Item {
	return []task.Item{{ID: id, Data: json.RawMessage(fmt.Sprintf("%q", v))}}
}

// A microtask that runs far longer than its stage's others, once the
// stage has nothing else queued, gets a copy on another worker; the copy
// commits first, the straggler is told to stop and its late result is
// refused; every item has one result.
func TestStragglerGetsSpeculativeCopy(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{SpeculateMin: 50 * time.Millisecond}, "")
	c, id, ls := stragglerSetup(t, b, fourItems())
	var seq uint64 = 1
	bw := handWorker("B")
	rawSync(t, b.url, &api.SyncRequest{Worker: bw, Seq: seq})
	lb := waitLease(t, b.url, bw, &seq)
	if lb.Task != ls.Task || lb.Token == ls.Token || lb.Attempt != 1 || len(lb.Items) != 1 || lb.Items[0].ID != ls.Items[0].ID {
		t.Fatalf("B's lease %+v, want a copy of S's %+v with its own token", lb, ls)
	}
	// B's copy wins.
	seq++
	r := rawSync(t, b.url, &api.SyncRequest{Worker: bw, Seq: seq, Done: []api.Completion{{Task: lb.Task, Token: lb.Token, Output: out(ls.Items[0].ID, "from B")}}})
	if !slices.Contains(r.Accepted, lb.Task) {
		t.Fatalf("B's completion: %+v", r)
	}
	// S, still running it, is told to stop; its late result is refused.
	rs := rawSync(t, b.url, &api.SyncRequest{Worker: handWorker("S"), Seq: 3, Running: []api.TaskRef{{Task: ls.Task, Token: ls.Token}}})
	if !slices.Contains(rs.Cancel, api.TaskRef{Task: ls.Task, Token: ls.Token}) {
		t.Fatalf("S was not told to stop: %+v", rs)
	}
	late := rawSync(t, b.url, &api.SyncRequest{Worker: handWorker("S"), Seq: 4, Done: []api.Completion{{Task: ls.Task, Token: ls.Token, Output: out(ls.Items[0].ID, "from S")}}})
	if len(late.Refused) != 1 || len(late.Accepted) != 0 {
		t.Fatalf("S's late completion: %+v", late)
	}
	st, err := c.Wait(ctxT(t, 30*time.Second), id, nil)
	if err != nil || st.State != task.JobCompleted || st.Counts.Done != 4 {
		t.Fatalf("job: %v %+v", err, st)
	}
	res := results(t, c, id)
	if len(res) != 4 || string(res["noop/"+ls.Items[0].ID].Data) != `"from B"` {
		t.Fatalf("results: %+v", res)
	}
	if s := b.srv.Coordinator().Speculation(); s.Copies != 1 || s.Won != 1 {
		t.Fatalf("speculation stats %+v, want 1 copy that won", s)
	}
}

// When the first attempt finishes before its copy, the copy's worker is
// told to stop and its result is refused.
func TestSpeculativeCopyLosesToFirstAttempt(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{SpeculateMin: 50 * time.Millisecond}, "")
	c, id, ls := stragglerSetup(t, b, fourItems())
	var seq uint64 = 1
	bw := handWorker("B")
	rawSync(t, b.url, &api.SyncRequest{Worker: bw, Seq: seq})
	lb := waitLease(t, b.url, bw, &seq)
	if lb.Task != ls.Task {
		t.Fatalf("B's lease %+v, want a copy of %d", lb, ls.Task)
	}
	r := rawSync(t, b.url, &api.SyncRequest{Worker: handWorker("S"), Seq: 3, Done: []api.Completion{{Task: ls.Task, Token: ls.Token, Output: out(ls.Items[0].ID, "from S")}}})
	if !slices.Contains(r.Accepted, ls.Task) {
		t.Fatalf("S's completion: %+v", r)
	}
	seq++
	rb := rawSync(t, b.url, &api.SyncRequest{Worker: bw, Seq: seq, Running: []api.TaskRef{{Task: lb.Task, Token: lb.Token}}})
	if !slices.Contains(rb.Cancel, api.TaskRef{Task: lb.Task, Token: lb.Token}) {
		t.Fatalf("B was not told to stop its copy: %+v", rb)
	}
	seq++
	late := rawSync(t, b.url, &api.SyncRequest{Worker: bw, Seq: seq, Done: []api.Completion{{Task: lb.Task, Token: lb.Token, Output: out(ls.Items[0].ID, "from B")}}})
	if len(late.Refused) != 1 {
		t.Fatalf("the copy's late completion: %+v", late)
	}
	if _, err := c.Wait(ctxT(t, 30*time.Second), id, nil); err != nil {
		t.Fatal(err)
	}
	if res := results(t, c, id); len(res) != 4 || string(res["noop/"+ls.Items[0].ID].Data) != `"from S"` {
		t.Fatalf("results: %+v", res)
	}
	if s := b.srv.Coordinator().Speculation(); s.Copies != 1 || s.Canceled != 1 || s.Won != 0 {
		t.Fatalf("speculation stats %+v, want 1 copy, canceled", s)
	}
}

// If the straggler's worker is lost while its copy runs, the copy
// carries on as the lease, without a retry being counted.
func TestSpeculativeCopySurvivesLostHolder(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{SpeculateMin: 50 * time.Millisecond, LeaseTTL: 2 * time.Second}, "")
	c, id, ls := stragglerSetup(t, b, fourItems())
	var seq uint64 = 1
	bw := handWorker("B")
	rawSync(t, b.url, &api.SyncRequest{Worker: bw, Seq: seq})
	lb := waitLease(t, b.url, bw, &seq)
	// S falls silent; B keeps heartbeating its copy until S is lost.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ws, err := c.Workers(ctxT(t, 5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		lost := slices.ContainsFunc(ws, func(w task.Worker) bool { return w.ID == "S" && w.State == task.WorkerLost })
		if lost {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("S was never found lost")
		}
		seq++
		if r := rawSync(t, b.url, &api.SyncRequest{Worker: bw, Seq: seq, Running: []api.TaskRef{{Task: lb.Task, Token: lb.Token}}, WaitMS: 200}); len(r.Cancel) > 0 {
			t.Fatalf("B's copy was canceled: %+v", r)
		}
	}
	seq++
	r := rawSync(t, b.url, &api.SyncRequest{Worker: bw, Seq: seq, Done: []api.Completion{{Task: lb.Task, Token: lb.Token, Output: out(ls.Items[0].ID, "from B")}}})
	if !slices.Contains(r.Accepted, lb.Task) {
		t.Fatalf("B's completion after S was lost: %+v", r)
	}
	st, err := c.Wait(ctxT(t, 30*time.Second), id, nil)
	if err != nil || st.State != task.JobCompleted {
		t.Fatalf("job: %v %+v", err, st)
	}
	if res := results(t, c, id); len(res) != 4 || string(res["noop/"+ls.Items[0].ID].Data) != `"from B"` {
		t.Fatalf("results: %+v", res)
	}
}

// speculate: false in the spec, or NoSpeculation on the coordinator,
// keeps stragglers uncopied.
func TestSpeculationOff(t *testing.T) {
	t.Parallel()
	off := false
	for name, tc := range map[string]struct {
		cfg coord.Config
		job func() *spec.Job
	}{
		"stage": {coord.Config{SpeculateMin: 50 * time.Millisecond}, func() *spec.Job {
			j := fourItems()
			j.Stages[0].Speculate = &off
			return j
		}},
		"job": {coord.Config{SpeculateMin: 50 * time.Millisecond}, func() *spec.Job {
			j := fourItems()
			j.Speculate = &off
			return j
		}},
		"coordinator": {coord.Config{SpeculateMin: 50 * time.Millisecond, NoSpeculation: true}, fourItems},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tc.cfg, "")
			_, _, ls := stragglerSetup(t, b, tc.job())
			bw := handWorker("B")
			rawSync(t, b.url, &api.SyncRequest{Worker: bw, Seq: 1})
			// Long past the threshold, B is still given nothing.
			for seq := uint64(2); seq < 5; seq++ {
				if r := rawSync(t, b.url, &api.SyncRequest{Worker: bw, Seq: seq, Want: 1, WaitMS: 300}); len(r.Leases) > 0 {
					t.Fatalf("B got %+v while speculation is off (straggler %d)", r.Leases, ls.Task)
				}
			}
			if s := b.srv.Coordinator().Speculation(); s.Copies != 0 {
				t.Fatalf("speculation stats %+v", s)
			}
		})
	}
}

// On a shared store only the leader grants copies; a copy granted by the
// leader may be reported to another coordinator, which finds it in the
// store and commits it, once.
func TestSpeculationSharedStoreLeaderOnly(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	open := func() *bundle {
		s, err := server.New(server.Config{Security: server.SecurityConfig{AdminToken: testToken}, StoreURL: url, Listen: "127.0.0.1:0", Logger: testLogger(t),
			Coord: coord.Config{Ops: builtinOps(), LeaseTTL: 5 * time.Second, SpeculateMin: 50 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		b := &bundle{srv: s, url: s.URL()}
		t.Cleanup(func() { b.stop() })
		return b
	}
	lead, follow := open(), open()
	if !lead.srv.Coordinator().Leading() || follow.srv.Coordinator().Leading() {
		t.Fatal("want the first coordinator leading, the second not")
	}
	c, id, ls := stragglerSetup(t, lead, fourItems())
	bw := handWorker("B")
	// Asking the follower, B gets nothing, however long S runs.
	for seq := uint64(1); seq < 4; seq++ {
		if r := rawSync(t, follow.url, &api.SyncRequest{Worker: bw, Seq: seq, Want: 1, WaitMS: 300}); len(r.Leases) > 0 {
			t.Fatalf("the follower granted %+v", r.Leases)
		}
	}
	if s := follow.srv.Coordinator().Speculation(); s.Copies != 0 {
		t.Fatalf("follower's speculation stats %+v", s)
	}
	var seq uint64 = 4
	lb := waitLease(t, lead.url, bw, &seq)
	if lb.Task != ls.Task || lb.Token == ls.Token {
		t.Fatalf("B's lease %+v, want a copy of %+v", lb, ls)
	}
	// B fails over to the follower and reports there.
	seq++
	r := rawSync(t, follow.url, &api.SyncRequest{Worker: bw, Seq: seq, Done: []api.Completion{{Task: lb.Task, Token: lb.Token, Output: out(ls.Items[0].ID, "from B")}}})
	if !slices.Contains(r.Accepted, lb.Task) {
		t.Fatalf("B's completion at the follower: %+v", r)
	}
	late := rawSync(t, lead.url, &api.SyncRequest{Worker: handWorker("S"), Seq: 3, Done: []api.Completion{{Task: ls.Task, Token: ls.Token, Output: out(ls.Items[0].ID, "from S")}}})
	if len(late.Refused) != 1 || len(late.Accepted) != 0 {
		t.Fatalf("S's late completion: %+v", late)
	}
	st, err := c.Wait(ctxT(t, 30*time.Second), id, nil)
	if err != nil || st.State != task.JobCompleted || st.Counts.Done != 4 {
		t.Fatalf("job: %v %+v", err, st)
	}
	if res := results(t, c, id); len(res) != 4 || string(res["noop/"+ls.Items[0].ID].Data) != `"from B"` {
		t.Fatalf("results: %+v", res)
	}
}
