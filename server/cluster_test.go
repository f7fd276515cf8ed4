package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/server"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/store/postgres/pgtest"
	"github.com/myriadhq/myriad/store/sqlite"
	"github.com/myriadhq/myriad/task"
)

// setupShared starts a coordinator on the shared store at url.
func setupShared(t *testing.T, url string) *bundle {
	t.Helper()
	s, err := server.New(server.Config{Security: server.SecurityConfig{AdminToken: testToken}, StoreURL: url, Listen: "127.0.0.1:0", Logger: testLogger(t),
		Coord: coord.Config{Ops: builtinOps(), LeaseTTL: 2 * time.Second}})
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

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := authGet(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// Two coordinators on one PostgreSQL database, each with its own worker,
// run a job of three stages (a map, a map with a larger batch so items
// wait in the buffer between them, and a reduce): the job ends once,
// every item reaches the reduce exactly once, and the reduce ran once.
func TestSharedStoreTwoCoordinators(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	a, b := setupShared(t, url), setupShared(t, url)
	if !a.srv.Coordinator().Leading() || b.srv.Coordinator().Leading() {
		t.Fatalf("leading: a %v, b %v; want only the first", a.srv.Coordinator().Leading(), b.srv.Coordinator().Leading())
	}
	for _, x := range []*bundle{a, b} {
		if code, body := get(t, x.url+"/metrics"); code != 200 || !strings.Contains(body, "myriad_queue_depth ") {
			t.Fatalf("/metrics: %d %s", code, body)
		}
	}
	startWorker(t, a.url, 4, nil)
	startWorker(t, b.url, 4, nil)
	const n = 300
	job := &spec.Job{Name: "three", Input: spec.Input{Items: numbers(n)}, Stages: []spec.Stage{
		{Name: "first", Op: "noop"},
		{Name: "second", Op: "noop", Batch: 7},
		{Name: "total", Op: "sum", After: []string{"second"}},
	}}
	// The values summed are the items' "n" fields: sum over 0..n-1.
	for i := range job.Input.Items {
		job.Input.Items[i] = i
	}
	id := submitJob(t, client.New(a.url, client.WithToken(testToken)), job)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Wait through the other coordinator: it learns of the job from the
	// store.
	st, err := client.New(b.url, client.WithToken(testToken)).Wait(ctx, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != task.JobCompleted {
		t.Fatalf("job %s: %+v", st.State, st.Counts)
	}
	if got := st.Stages[2].Counts; got.Done != 1 || got.Total() != 1 {
		t.Fatalf("reduce stage ran %+v, want exactly one microtask", got)
	}
	if got := st.Stages[0].Counts.Done; got != n {
		t.Fatalf("first stage: %d done, want %d", got, n)
	}
	var lines []string
	if err := client.New(a.url, client.WithToken(testToken)).Results(ctx, id, nil, func(l *api.ResultLine) error { lines = append(lines, string(l.Data)); return nil }); err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Items int     `json:"items"`
		Sum   float64 `json:"sum"`
	}
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &sum) != nil || sum.Items != n || sum.Sum != n*(n-1)/2 {
		t.Fatalf("reduce result %v, want items %d and sum %d", lines, n, n*(n-1)/2)
	}
	// Both coordinators agree it has ended.
	for _, x := range []*bundle{a, b} {
		st, err := client.New(x.url, client.WithToken(testToken)).Job(ctx, id)
		if err != nil || st.State != task.JobCompleted {
			t.Fatalf("%s says %+v %v", x.url, st, err)
		}
	}
}

// flakyPing is a store whose Ping fails on demand.
type flakyPing struct {
	store.Store
	down atomic.Bool
}

func (f *flakyPing) Ping(ctx context.Context) error {
	if f.down.Load() {
		return errors.New("connection refused")
	}
	return f.Store.Ping(ctx)
}

// /readyz asks the store; /healthz only the process.
func TestReadyzChecksStore(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fp := &flakyPing{Store: st}
	s, err := server.New(server.Config{Security: server.SecurityConfig{AdminToken: testToken}, Store: fp, Listen: "127.0.0.1:0", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := &bundle{srv: s, url: s.URL()}
	defer b.stop()
	if code, _ := get(t, b.url+"/readyz"); code != 200 {
		t.Fatalf("readyz with the store up: %d", code)
	}
	fp.down.Store(true)
	if code, body := get(t, b.url+"/readyz"); code != 503 || !strings.Contains(body, "connection refused") {
		t.Fatalf("readyz with the store down: %d %s", code, body)
	}
	if code, _ := get(t, b.url+"/healthz"); code != 200 {
		t.Fatalf("healthz with the store down: %d", code)
	}
	fp.down.Store(false)
	if code, _ := get(t, b.url+"/readyz"); code != 200 {
		t.Fatalf("readyz with the store back: %d", code)
	}
}
