package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/server"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/store/faulty"
	"github.com/myriadhq/myriad/store/sqlite"
	"github.com/myriadhq/myriad/task"
)

// setupFaulty starts a coordinator on SQLite behind a store whose writes
// fail on demand; inner is the store itself, to check what was written.
func setupFaulty(t *testing.T, cc coord.Config) (b *bundle, f *faulty.Store, inner store.Store) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), dir, sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f = faulty.New(st)
	if cc.Ops == nil {
		cc.Ops = builtinOps()
	}
	s, err := server.New(server.Config{Security: server.SecurityConfig{AdminToken: testToken}, Store: f, DataDir: dir, NoHuman: true, Listen: "127.0.0.1:0", Coord: cc, Logger: testLogger(t), MaxBody: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b = &bundle{srv: s, url: s.URL(), dir: dir}
	t.Cleanup(func() { b.stop() })
	return b, f, st
}

// trySync is rawSync that returns the HTTP status instead of failing.
func trySync(t *testing.T, url string, req *api.SyncRequest) (int, *api.SyncResponse) {
	t.Helper()
	body, _ := json.Marshal(req)
	res, err := authPost(url+"/v1/workers/sync", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return res.StatusCode, nil
	}
	var out api.SyncResponse
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, &out
}

func storeCounts(t *testing.T, st store.Store, id string) task.Counts {
	t.Helper()
	cs, err := st.TaskCounts(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var sum task.Counts
	for _, c := range cs {
		sum = sum.Plus(c)
	}
	return sum
}

// Completions reported while the store cannot write are answered 503,
// not acknowledged, and nothing of them is written; reported again once
// the store recovers, each is committed exactly once.
func TestStoreFailureNotAcknowledged(t *testing.T) {
	t.Parallel()
	for name, mode := range map[string]faulty.Mode{"begin": faulty.FailBegin, "commit": faulty.FailCommit} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, f, inner := setupFaulty(t, coord.Config{})
			c := client.New(b.url, client.WithToken(testToken))
			w := handWorker("W")
			w.Slots = 3
			rawSync(t, b.url, &api.SyncRequest{Worker: w, Seq: 1})
			id := submitJob(t, c, &spec.Job{Input: spec.Input{Items: []any{"a", "b", "c"}}, Stages: []spec.Stage{{Op: "noop"}}})
			got := rawSync(t, b.url, &api.SyncRequest{Worker: w, Seq: 2, Want: 3})
			if len(got.Leases) != 3 {
				t.Fatalf("got %d leases", len(got.Leases))
			}
			var done []api.Completion
			for _, l := range got.Leases {
				done = append(done, api.Completion{Task: l.Task, Token: l.Token, Output: out(l.Items[0].ID, "r-"+l.Items[0].ID)})
			}
			f.Fail(mode, 0, nil)
			for seq := uint64(3); seq < 6; seq++ {
				status, resp := trySync(t, b.url, &api.SyncRequest{Worker: w, Seq: seq, Done: done})
				if status != http.StatusServiceUnavailable {
					t.Fatalf("report while the store fails: status %d %+v, want 503", status, resp)
				}
				if c := storeCounts(t, inner, id); c.Done != 0 || c.Running != 3 {
					t.Fatalf("store counts while failing: %+v, want 3 running, none done", c)
				}
			}
			if failed, _ := f.Failed(); failed == 0 {
				t.Fatal("no write was made to fail")
			}
			f.Heal()
			r := rawSync(t, b.url, &api.SyncRequest{Worker: w, Seq: 6, Done: done})
			slices.Sort(r.Accepted)
			if len(r.Accepted) != 3 || len(r.Refused) != 0 {
				t.Fatalf("report after recovery: %+v, want all 3 accepted", r)
			}
			st, err := c.Wait(ctxT(t, 30*time.Second), id, nil)
			if err != nil || st.State != task.JobCompleted {
				t.Fatalf("job: %v %+v", err, st)
			}
			res := results(t, c, id) // fails on a duplicate
			for _, l := range got.Leases {
				k := l.Items[0].ID
				if want := fmt.Sprintf("%q", "r-"+k); string(res["noop/"+k].Data) != want {
					t.Fatalf("result of %s: %s, want %s", k, res["noop/"+k].Data, want)
				}
			}
			if c := storeCounts(t, inner, id); c.Done != 3 || c.Total() != 3 {
				t.Fatalf("store counts: %+v", c)
			}
		})
	}
}

// A real worker through a store where every third write fails (at
// commit): the worker keeps unacknowledged results and reports them
// again, and in the end every item has exactly one, correct result.
func TestIntermittentStoreFailuresExactlyOnce(t *testing.T) {
	t.Parallel()
	b, f, inner := setupFaulty(t, coord.Config{})
	c := client.New(b.url, client.WithToken(testToken))
	startWorker(t, b.url, 4, nil)
	const n = 100
	id := submitJob(t, c, &spec.Job{Input: spec.Input{Items: numbers(n)}, Stages: []spec.Stage{{Op: "sleep", Params: map[string]any{"ms": 2}}}})
	f.Fail(faulty.FailCommit, 3, nil)
	// Wait for the job through the inner store: the coordinator's
	// answers may fail while the faults last.
	deadline := time.Now().Add(60 * time.Second)
	for storeCounts(t, inner, id).Done < n {
		if time.Now().After(deadline) {
			t.Fatalf("job stuck: %+v", storeCounts(t, inner, id))
		}
		time.Sleep(20 * time.Millisecond) // polling the store, not waiting for an event
	}
	failed, tried := f.Failed()
	f.Heal()
	if failed == 0 {
		t.Fatalf("no write failed (%d tried)", tried)
	}
	st, err := c.Wait(ctxT(t, 30*time.Second), id, nil)
	if err != nil || st.State != task.JobCompleted || st.Counts.Done != n {
		t.Fatalf("job: %v %+v", err, st)
	}
	res := results(t, c, id)
	if len(res) != n {
		t.Fatalf("%d results, want %d", len(res), n)
	}
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("i%d", i)
		var v struct {
			N int `json:"n"`
		}
		if err := json.Unmarshal(res["sleep/"+k].Data, &v); err != nil || v.N != i {
			t.Fatalf("result of %s: %s", k, res["sleep/"+k].Data)
		}
	}
	t.Logf("%d of %d write transactions failed", failed, tried)
}

// While the store fails, a real worker keeps its unacknowledged results
// and reports them again on every request, never more of them than its
// slots (it is granted no new work meanwhile: back-pressure, not an
// unbounded buffer); once the store recovers, they are committed once.
func TestWorkerHoldsResultsWhileStoreFails(t *testing.T) {
	t.Parallel()
	b, f, inner := setupFaulty(t, coord.Config{})
	// A recording proxy between the worker and the coordinator.
	type seen struct {
		done   int
		status int
	}
	var mu sync.Mutex
	var log []seen
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req api.SyncRequest
		json.Unmarshal(body, &req)
		res, err := authPost(b.url+r.URL.Path, "application/json", bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		mu.Lock()
		log = append(log, seen{done: len(req.Done), status: res.StatusCode})
		mu.Unlock()
		w.WriteHeader(res.StatusCode)
		w.Write(data)
	}))
	t.Cleanup(proxy.Close)
	const slots, n = 2, 12
	startWorker(t, proxy.URL, slots, nil)
	c := client.New(b.url, client.WithToken(testToken))
	id := submitJob(t, c, &spec.Job{Input: spec.Input{Items: numbers(n)}, Stages: []spec.Stage{{Op: "sleep", Params: map[string]any{"ms": 30}}}})
	deadline := time.Now().Add(60 * time.Second)
	for storeCounts(t, inner, id).Done < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no progress")
		}
		time.Sleep(10 * time.Millisecond) // polling the store, with a deadline
	}
	f.Fail(faulty.FailBegin, 0, nil)
	mu.Lock()
	from := len(log)
	mu.Unlock()
	before := storeCounts(t, inner, id).Done
	// Wait until the worker has re-reported held results several times.
	for {
		mu.Lock()
		k := 0
		for _, s := range log[from:] {
			if s.status == http.StatusServiceUnavailable && s.done > 0 {
				k++
			}
		}
		mu.Unlock()
		if k >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker did not report its results again while the store failed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := storeCounts(t, inner, id).Done; got != before {
		t.Fatalf("done went from %d to %d while every write failed", before, got)
	}
	f.Heal()
	st, err := c.Wait(ctxT(t, 60*time.Second), id, nil)
	if err != nil || st.State != task.JobCompleted || st.Counts.Done != n {
		t.Fatalf("job: %v %+v", err, st)
	}
	if res := results(t, c, id); len(res) != n {
		t.Fatalf("%d results, want %d", len(res), n)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, s := range log {
		if s.done > slots {
			t.Fatalf("request %d carried %d results, more than the worker's %d slots", i, s.done, slots)
		}
	}
}
