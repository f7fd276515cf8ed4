// Command imglocality measures the bytes an image job moves between the
// coordinator's blob store and the workers' blob caches, with the
// scheduler's locality preference (a microtask runs on the worker that
// produced its inputs, whose cache holds them) and without it
// (coord.Config.NoLocality). It runs an embedded coordinator and W
// in-process workers, each with its own blob cache over HTTP, stores N
// MNIST digits as the job's input, runs the job and prints one line per
// run from the caches' counters.
//
//	go run ./bench/imglocality                       # 2 000 digits, 2 workers × 2 slots, both jobs
//	go run ./bench/imglocality -n 5000 -workers 4 -job chain
//
// Jobs: "chain" is preprocess (resize to -size × -size RGB, PNG) → augment
// (4 variants each, 28×28 gray tensors): the second stage reads what the
// first wrote, so -size sets how many bytes locality can save. "example"
// is examples/images.yaml (clean → preprocess + augment → pack).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/ops"
	"github.com/myriadhq/myriad/ops/imageops"
	"github.com/myriadhq/myriad/server"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

const chainJob = `name: chain
input: {mnist: train, limit: 2000}
stages:
  - name: resize
    op: preprocess
    batch: 50
    params:
      steps: [{op: resize, size: [SIZE, SIZE]}]
      output: {format: png}
  - name: augment
    op: augment
    batch: 25
    params:
      seed: 1
      variants: 4
      pipeline:
        steps: [{op: rotate, degrees: [-10, 10]}, {op: random_resized_crop, size: [28], scale: [0.8, 1]}, {op: grayscale, channels: 1}]
        output: {mean: [0.1307], std: [0.3081]}
`

func main() {
	n := flag.Int("n", 2000, "MNIST digits (input.limit)")
	workers := flag.Int("workers", 2, "worker processes (in-process, each with its own cache)")
	slots := flag.Int("slots", 2, "slots per worker")
	which := flag.String("job", "both", `"chain", "example" or "both"`)
	size := flag.Int("size", 128, "chain: side of the resized images the second stage reads")
	example := flag.String("example", "examples/images.yaml", "path of the example job")
	flag.Parse()
	jobs := map[string]string{}
	if *which == "chain" || *which == "both" {
		jobs["chain"] = strings.ReplaceAll(chainJob, "SIZE", fmt.Sprint(*size))
	}
	if *which == "example" || *which == "both" {
		data, err := os.ReadFile(*example)
		if err != nil {
			fail(err)
		}
		jobs["example"] = string(data)
	}
	fmt.Printf("%-8s %-9s %6s %8s %12s %12s %12s %8s %8s %7s\n", "job", "locality", "items", "tasks", "fetched", "from_cache", "uploaded", "hits", "misses", "wall")
	for _, name := range []string{"chain", "example"} {
		doc, ok := jobs[name]
		if !ok {
			continue
		}
		doc = strings.Replace(doc, "limit: 2000", fmt.Sprintf("limit: %d", *n), 1)
		for _, off := range []bool{false, true} {
			r, err := run(doc, off, *workers, *slots)
			if err != nil {
				fail(fmt.Errorf("%s (locality off=%v): %w", name, off, err))
			}
			mode := "on"
			if off {
				mode = "off"
			}
			fmt.Printf("%-8s %-9s %6d %8d %12s %12s %12s %8d %8d %7s\n", name, mode, r.items, r.tasks,
				mb(r.stats.BytesFetched), mb(r.stats.BytesServed), mb(r.stats.BytesUploaded), r.stats.Hits, r.stats.Misses, r.wall.Round(100*time.Millisecond))
		}
	}
}

func mb(b int64) string { return fmt.Sprintf("%.2f MB", float64(b)/1e6) }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "imglocality:", err)
	os.Exit(1)
}

type result struct {
	items int64
	tasks int64
	stats blob.CacheStats
	wall  time.Duration
}

func run(doc string, noLocality bool, workers, slots int) (*result, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "imglocality-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	opsInfo := map[string]coord.OpInfo{}
	for _, o := range append(ops.Builtins(), imageops.Builtins()...) {
		opsInfo[o.Name] = coord.OpInfo{Name: o.Name, Reduce: o.Reduce}
	}
	log := slog.New(slog.DiscardHandler)
	s, err := server.New(server.Config{DataDir: filepath.Join(dir, "data"), Listen: "127.0.0.1:0", Sync: "normal", Logger: log,
		Coord: coord.Config{NoLocality: noLocality, Ops: opsInfo, Logger: log}})
	if err != nil {
		return nil, err
	}
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(sctx)
	}()
	j, err := spec.Parse("job.yaml", []byte(doc))
	if err != nil {
		return nil, err
	}
	if _, err := imageops.ResolveInput(ctx, s.Blobs(), j, "."); err != nil {
		return nil, err
	}
	wctx, stop := context.WithCancel(ctx)
	var caches []*blob.Cache
	done := make(chan struct{}, workers)
	for i := range workers {
		local, err := blob.OpenLocal(filepath.Join(dir, fmt.Sprintf("cache%d", i)), blob.LocalOptions{NoSync: true})
		if err != nil {
			stop()
			return nil, err
		}
		cache, err := blob.NewCache(ctx, local, &blob.Client{BaseURL: s.URL() + "/v1/blobs", Header: http.Header{"Authorization": {"Bearer " + s.AdminToken()}}}, blob.CacheOptions{MaxBytes: worker.DefaultCacheBytes})
		if err != nil {
			stop()
			return nil, err
		}
		caches = append(caches, cache)
		reg := worker.NewRegistry()
		imageops.Register(reg, imageops.Options{})
		w, err := worker.New(worker.Config{Server: s.URL(), Token: s.AdminToken(), Name: fmt.Sprintf("w%d", i), Slots: slots, Registry: reg, Blobs: cache, Logger: log})
		if err != nil {
			stop()
			return nil, err
		}
		go func() { w.Run(wctx); done <- struct{}{} }()
	}
	defer func() {
		stop()
		for range workers {
			<-done
		}
	}()
	c := client.New(s.URL(), client.WithToken(s.AdminToken()))
	start := time.Now()
	sub, err := c.Submit(ctx, j)
	if err != nil {
		return nil, err
	}
	st, err := c.Wait(ctx, sub.ID, nil)
	if err != nil {
		return nil, err
	}
	if st.State != task.JobCompleted {
		return nil, fmt.Errorf("job %s: %+v", st.State, st.Errors)
	}
	r := &result{items: sub.Items, tasks: st.Counts.Done, wall: time.Since(start)}
	for _, cache := range caches {
		cs := cache.Stats()
		r.stats.BytesFetched += cs.BytesFetched
		r.stats.BytesServed += cs.BytesServed
		r.stats.BytesUploaded += cs.BytesUploaded
		r.stats.Hits += cs.Hits
		r.stats.Misses += cs.Misses
	}
	return r, nil
}
