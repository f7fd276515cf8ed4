package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
)

// rawSync makes one worker-protocol round trip by hand.
func rawSync(t *testing.T, url string, req *api.SyncRequest) *api.SyncResponse {
	t.Helper()
	body, _ := json.Marshal(req)
	res, err := authPost(url+"/v1/workers/sync", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("sync: %s: %s", res.Status, data)
	}
	var out api.SyncResponse
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func handWorker(id string) api.WorkerInfo {
	return api.WorkerInfo{ID: id, Name: id, Slots: 1, Ops: []string{"noop"}}
}

// A worker that stops heartbeating loses its lease; the microtask runs
// elsewhere; the first worker's late completion carries a stale token and
// is refused, and the committed result is the second worker's.
func TestStaleTokenRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{LeaseTTL: 300 * time.Millisecond}, "")
	c := client.New(b.url, client.WithToken(testToken))
	a, z := handWorker("A"), handWorker("Z")
	rawSync(t, b.url, &api.SyncRequest{Worker: a, Seq: 1})
	id := submitJob(t, c, &spec.Job{Input: spec.Input{Items: []any{"x"}}, Stages: []spec.Stage{{Op: "noop"}}})
	first := rawSync(t, b.url, &api.SyncRequest{Worker: a, Seq: 2, Want: 1})
	if len(first.Leases) != 1 {
		t.Fatalf("A got %d leases", len(first.Leases))
	}
	la := first.Leases[0]
	// Z waits for work; it gets the microtask once A's lease expires.
	var second *api.SyncResponse
	for second == nil || len(second.Leases) == 0 {
		second = rawSync(t, b.url, &api.SyncRequest{Worker: z, Seq: 1, Want: 1, WaitMS: 2000})
	}
	lz := second.Leases[0]
	if lz.Task != la.Task || lz.Token <= la.Token || lz.Attempt != 2 {
		t.Fatalf("Z's lease %+v after A's %+v", lz, la)
	}
	late := rawSync(t, b.url, &api.SyncRequest{Worker: a, Seq: 3, Done: []api.Completion{{Task: la.Task, Token: la.Token, Output: []task.Item{{ID: "0", Data: json.RawMessage(`"from A"`)}}}}})
	if len(late.Refused) != 1 || len(late.Accepted) != 0 {
		t.Fatalf("A's late completion: %+v", late)
	}
	// A forged completion with Z's token from A is refused too.
	forged := rawSync(t, b.url, &api.SyncRequest{Worker: a, Seq: 4, Done: []api.Completion{{Task: lz.Task, Token: lz.Token, Output: []task.Item{{ID: "0", Data: json.RawMessage(`"forged"`)}}}}})
	if len(forged.Refused) != 1 {
		t.Fatalf("forged completion: %+v", forged)
	}
	ok := rawSync(t, b.url, &api.SyncRequest{Worker: z, Seq: 2, Done: []api.Completion{{Task: lz.Task, Token: lz.Token, Output: []task.Item{{ID: "0", Data: json.RawMessage(`"from Z"`)}}}}})
	if len(ok.Accepted) != 1 {
		t.Fatalf("Z's completion: %+v", ok)
	}
	again := rawSync(t, b.url, &api.SyncRequest{Worker: z, Seq: 3, Done: []api.Completion{{Task: lz.Task, Token: lz.Token, Output: []task.Item{{ID: "0", Data: json.RawMessage(`"twice"`)}}}}})
	if len(again.Refused) != 1 {
		t.Fatalf("a second completion: %+v", again)
	}
	st, err := c.Wait(ctxT(t, 10*time.Second), id, nil)
	if err != nil || st.State != task.JobCompleted {
		t.Fatalf("%v %+v", err, st)
	}
	res := results(t, c, id)
	if len(res) != 1 || string(res["noop/0"].Data) != `"from Z"` {
		t.Fatalf("results: %+v", res)
	}
	ws, _ := c.Workers(context.Background())
	states := map[string]string{}
	for _, w := range ws {
		states[w.ID] = w.State
	}
	if states["A"] != task.WorkerLost && states["A"] != task.WorkerAlive {
		t.Fatalf("worker A: %q", states["A"])
	}
}

// A lease granted in answer to a request the worker never saw (its long
// poll was cut short) goes back to the queue at the worker's next request.
func TestLeaseLostInTransitIsRequeued(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	c := client.New(b.url, client.WithToken(testToken))
	w := handWorker("W")
	rawSync(t, b.url, &api.SyncRequest{Worker: w, Seq: 1})
	submitJob(t, c, &spec.Job{Input: spec.Input{Items: []any{"x"}}, Stages: []spec.Stage{{Op: "noop"}}})
	lost := rawSync(t, b.url, &api.SyncRequest{Worker: w, Seq: 2, Want: 1})
	if len(lost.Leases) != 1 {
		t.Fatal("no lease")
	}
	// Seq 3 does not list the lease: it was never received.
	next := rawSync(t, b.url, &api.SyncRequest{Worker: w, Seq: 3, Want: 1})
	if len(next.Leases) != 1 || next.Leases[0].Task != lost.Leases[0].Task || next.Leases[0].Attempt != 1 {
		t.Fatalf("want the same microtask again, first attempt refunded: %+v", next.Leases)
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	post := func(path, ct, body string) (int, string) {
		res, err := authPost(b.url+path, ct, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(data)
	}
	get := func(path string) int {
		res, err := authGet(b.url + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	cases := []struct {
		name, path, ct, body string
		status               int
		mention              string
	}{
		{"garbage sync", "/v1/workers/sync", "application/json", "\x00\x01{{{not json", 400, "decode"},
		{"sync without id", "/v1/workers/sync", "application/json", `{"worker":{"slots":1}}`, 400, "worker.id"},
		{"sync bad slots", "/v1/workers/sync", "application/json", `{"worker":{"id":"x","slots":0}}`, 400, "worker.slots"},
		{"sync wants more than slots", "/v1/workers/sync", "application/json", `{"worker":{"id":"x","slots":2},"want":3}`, 400, "want"},
		{"spec not json", "/v1/jobs", "application/json", `{"stages": [`, 400, "invalid job spec"},
		{"unknown field", "/v1/jobs", "application/json", `{"input":{"items":[1]},"stages":[{"op":"noop","opp":1}]}`, 400, "opp"},
		{"unknown op", "/v1/jobs", "application/json", `{"input":{"items":[1]},"stages":[{"op":"nope"}]}`, 400, `stages[0].op: unknown operator \"nope\"`},
		{"file input", "/v1/jobs", "application/json", `{"input":{"file":"x.csv"},"stages":[{"op":"noop"}]}`, 400, "read by the client"},
		{"yaml spec with a cycle", "/v1/jobs", "application/yaml", "input: {items: [1]}\nstages:\n  - {name: a, op: noop, after: [input, b]}\n  - {name: b, op: noop, after: [a]}\n", 400, "cycle"},
		{"oversize spec", "/v1/jobs", "application/json", `{"input":{"items":["` + strings.Repeat("x", 2<<20) + `"]},"stages":[{"op":"noop"}]}`, 413, ""},
	}
	for _, tc := range cases {
		status, body := post(tc.path, tc.ct, tc.body)
		if status != tc.status || !strings.Contains(body, tc.mention) {
			t.Errorf("%s: got %d %s, want %d mentioning %q", tc.name, status, trunc(body), tc.status, tc.mention)
		}
	}
	if s := get("/v1/jobs/jnosuchjob"); s != 404 {
		t.Errorf("unknown job: %d", s)
	}
	if s := get("/v1/jobs/jnosuchjob/results"); s != 404 {
		t.Errorf("results of unknown job: %d", s)
	}
	if s, _ := post("/v1/jobs/jnosuchjob/cancel", "", ""); s != 404 {
		t.Errorf("cancel unknown job: %d", s)
	}
	if s := get("/v1/jobs?state=bogus"); s != 400 {
		t.Errorf("bad state filter: %d", s)
	}
	// Nothing was stored, and the coordinator is still up.
	jobs, err := client.New(b.url, client.WithToken(testToken)).Jobs(context.Background(), "", 0)
	if err != nil || len(jobs) != 0 {
		t.Fatalf("jobs after bad submissions: %v %v", jobs, err)
	}
	if s := get("/readyz"); s != 200 {
		t.Fatalf("readyz after bad requests: %d", s)
	}
}

func trunc(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
