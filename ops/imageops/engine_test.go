package imageops_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/ops/imageops"
	"github.com/myriadhq/myriad/server"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// Through the embedded coordinator and a worker over HTTP: a folder with
// a duplicate and a truncated file goes through clean (a reduce) and
// preprocess; the job completes, its results exclude what clean dropped,
// and the report of dropped items gives each reason.
func TestEngineCleanDropsFromResults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string][]byte{
		"imgs/a/1.png":   pattern(t, 20, 20, 1),
		"imgs/a/2.png":   pattern(t, 20, 20, 2),
		"imgs/b/1.png":   pattern(t, 20, 20, 3),
		"imgs/b/dup.png": pattern(t, 20, 20, 1),
		"imgs/b/cut.jpg": badFile(t, "truncated.jpg"),
	}
	for p, data := range files {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), data, 0o644)
	}
	opsInfo := map[string]coord.OpInfo{}
	for _, o := range imageops.Builtins() {
		opsInfo[o.Name] = coord.OpInfo{Name: o.Name, Reduce: o.Reduce, Check: imageops.CheckParams(o.Name)}
	}
	log := slog.New(slog.DiscardHandler)
	s, err := server.New(server.Config{DataDir: filepath.Join(dir, "data"), Listen: "127.0.0.1:0", Sync: "normal", Logger: log,
		Coord: coord.Config{Ops: opsInfo, Logger: log}})
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
	w, err := worker.New(worker.Config{Server: s.URL(), Token: s.AdminToken(), Slots: 2, Registry: registry(imageops.Options{}), MaxWait: time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(wctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })

	j, err := spec.Parse("job.yaml", []byte(`
input: {images: imgs}
stages:
  - {name: clean, op: clean}
  - {name: pre, op: preprocess, batch: 2, params: {steps: [{op: resize, size: [8]}]}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := imageops.ResolveInput(ctxT(t), s.Blobs(), j, dir); err != nil {
		t.Fatal(err)
	}
	c := client.New(s.URL(), client.WithToken(s.AdminToken()))
	sub, err := c.Submit(ctxT(t), j)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Wait(ctxT(t), sub.ID, nil)
	if err != nil || st.State != task.JobCompleted {
		t.Fatalf("%v: %+v", err, st)
	}
	var got []string
	err = c.Results(ctxT(t), sub.ID, nil, func(l *api.ResultLine) error {
		if !strings.Contains(string(l.Data), `"format":"tensor"`) {
			t.Errorf("result %s is not a tensor: %s", l.ID, l.Data)
		}
		got = append(got, l.ID)
		return nil
	})
	slices.Sort(got)
	if err != nil || strings.Join(got, ",") != "a/1.png,a/2.png,b/1.png" {
		t.Fatalf("results %v (%v), want a/1.png, a/2.png, b/1.png", got, err)
	}
	dropped := map[string]string{}
	err = c.Dropped(ctxT(t), sub.ID, func(l *api.ResultLine) error { dropped[l.ID] = l.Dropped; return nil })
	if err != nil || len(dropped) != 2 || !strings.HasPrefix(dropped["b/dup.png"], "duplicate: same content as a/1.png") ||
		!strings.HasPrefix(dropped["b/cut.jpg"], "truncated:") {
		t.Fatalf("dropped report %v (%v)", dropped, err)
	}
}
