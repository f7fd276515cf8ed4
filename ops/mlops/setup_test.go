package mlops_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/ml/dataset"
	"github.com/myriadhq/myriad/ops"
	"github.com/myriadhq/myriad/ops/mlops"
	"github.com/myriadhq/myriad/server"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/worker"
)

// tinyNet learns MNIST digits well above chance from a few hundred
// images in a second or two.
const tinyNet = `{input: [1, 28, 28], layers: [{kind: conv, filters: 6, kernel: 5}, {kind: maxpool, size: 2}, {kind: dense, units: 32}],
        optimizer: adam, learning_rate: 0.003, epochs: 3, batch_size: 32, seed: 11}`

// quickNet is tinyNet trained for one epoch with larger steps: for tests
// that train it many times (folds, trials).
const quickNet = `{input: [1, 28, 28], layers: [{kind: conv, filters: 6, kernel: 5}, {kind: maxpool, size: 2}, {kind: dense, units: 32}],
        optimizer: adam, learning_rate: 0.01, epochs: 1, batch_size: 16, seed: 11}`

var (
	digitsOnce sync.Once
	digits     *ml.Dataset
	digitsErr  error
)

// mnistDigits returns n digits of MNIST's test split from offset (the
// 10 000-item split loads in a fraction of a second).
func mnistDigits(t *testing.T, offset, n int) *ml.Dataset {
	t.Helper()
	digitsOnce.Do(func() { digits, digitsErr = dataset.LoadMNIST(dataset.Test) })
	if digitsErr != nil {
		t.Fatalf("load MNIST: %v", digitsErr)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = offset + i
	}
	d, err := digits.Subset(idx)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// engine is an embedded coordinator with the ml operators, a real worker
// runtime connected over HTTP, and a client.
type engine struct {
	srv *server.Server
	c   *client.Client
}

func logger() *slog.Logger {
	if os.Getenv("MYRIAD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// setup starts the engine; wrap, if set, may replace handlers.
func setup(t *testing.T, slots int, wrap func(r *worker.Registry)) *engine {
	t.Helper()
	opsInfo := mlops.CoordOps()
	for _, o := range ops.Builtins() {
		opsInfo[o.Name] = coord.OpInfo{Name: o.Name, Reduce: o.Reduce}
	}
	s, err := server.New(server.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Sync: "normal", Logger: logger(),
		Coord: coord.Config{Ops: opsInfo, Logger: logger()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	reg := worker.NewRegistry()
	ops.Register(reg, ops.Options{})
	mlops.Register(reg)
	if wrap != nil {
		wrap(reg)
	}
	w, err := worker.New(worker.Config{Server: s.URL(), Token: s.AdminToken(), Slots: slots, Registry: reg, MaxWait: time.Second, Logger: logger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() }) // runs before the server's shutdown
	select {
	case <-w.Connected():
	case <-time.After(60 * time.Second):
		t.Fatal("worker did not connect")
	}
	return &engine{srv: s, c: client.New(s.URL(), client.WithToken(s.AdminToken()))}
}

// pack stores d as a packed dataset blob.
func (e *engine) pack(t *testing.T, d *ml.Dataset) blob.Ref {
	t.Helper()
	ref, err := mlops.PackDataset(context.Background(), e.srv.Blobs(), d)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// submit submits a YAML job spec and returns its id (or the error).
func (e *engine) submit(t *testing.T, yaml string) (string, error) {
	t.Helper()
	j, err := spec.Parse("job.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("parse job: %v\n%s", err, yaml)
	}
	res, err := e.c.Submit(context.Background(), j)
	if err != nil {
		return "", err
	}
	return res.ID, nil
}

// run submits a job and waits for it to end.
func (e *engine) run(t *testing.T, yaml string) *api.JobStatus {
	t.Helper()
	id, err := e.submit(t, yaml)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st, err := e.c.Wait(ctx, id, nil)
	if err != nil {
		t.Fatalf("wait for job %s: %v", id, err)
	}
	return st
}

// results returns a stage's output items by id.
func (e *engine) results(t *testing.T, id, stage string) map[string]map[string]json.RawMessage {
	t.Helper()
	out := map[string]map[string]json.RawMessage{}
	err := e.c.Results(context.Background(), id, []string{stage}, func(l *api.ResultLine) error {
		if l.Error != "" {
			return fmt.Errorf("item %s of %s failed: %s", l.ID, stage, l.Error)
		}
		var f map[string]json.RawMessage
		if err := json.Unmarshal(l.Data, &f); err != nil {
			return err
		}
		out[l.ID] = f
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *engine) metrics(t *testing.T, id string) []api.MetricPoint {
	t.Helper()
	points, err := e.c.Metrics(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return points
}

func field[T any](t *testing.T, f map[string]json.RawMessage, name string) T {
	t.Helper()
	var v T
	raw, ok := f[name]
	if !ok {
		t.Fatalf("no field %q in %v", name, keys(f))
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("field %s: %v", name, err)
	}
	return v
}

func keys(f map[string]json.RawMessage) string {
	var k []string
	for n := range f {
		k = append(k, n)
	}
	return strings.Join(k, ", ")
}

func mustCompleted(t *testing.T, st *api.JobStatus) {
	t.Helper()
	if st.State != "completed" {
		t.Fatalf("job %s ended %s, want completed; errors: %+v", st.ID, st.State, st.Errors)
	}
}

// modelOf reads a model file blob.
func (e *engine) modelOf(t *testing.T, ref blob.Ref) *ml.Model {
	t.Helper()
	raw, err := blob.Get(context.Background(), e.srv.Blobs(), ref, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ml.ReadModel(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
