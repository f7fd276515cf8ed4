package imageops_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc/pack"
	"github.com/myriadhq/myriad/ops/imageops"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

func registry(opt imageops.Options) *worker.Registry {
	r := worker.NewRegistry()
	imageops.Register(r, opt)
	return r
}

// Clean keeps good images and drops each bad one with its reason: the
// kept items are the output, the rest carry Dropped.
func TestCleanDropsWithReasons(t *testing.T) {
	t.Parallel()
	s := blob.NewMem()
	reg := registry(imageops.Options{})
	a, b := pattern(t, 32, 32, 1), pattern(t, 32, 32, 2)
	out, err := runOp(t, reg, imageops.OpClean, "clean", `{"min_width": 16}`, s,
		put(t, s, "a", "cat", a),
		put(t, s, "a-copy", "dog", a),
		put(t, s, "b", "dog", b),
		put(t, s, "tiny", "dog", pattern(t, 8, 8, 3)),
		put(t, s, "empty", "cat", badFile(t, "empty.png")),
		put(t, s, "bomb", "cat", badFile(t, "bomb-50000x50000.png")),
		put(t, s, "cut", "cat", badFile(t, "truncated.jpg")),
	)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "", "b": "", "a-copy": "duplicate: same content as a", "tiny": "too_small",
		"empty": "empty", "bomb": "too_large", "cut": "truncated"}
	if len(out) != len(want) {
		t.Fatalf("%d items out, want %d: %+v", len(out), len(want), out)
	}
	for _, it := range out {
		w, ok := want[it.ID]
		if !ok {
			t.Fatalf("unexpected item %s", it.ID)
		}
		if (w == "") != (it.Dropped == "") || !strings.HasPrefix(it.Dropped, w) {
			t.Errorf("item %s: dropped %q, want prefix %q", it.ID, it.Dropped, w)
		}
		if it.ID == "a-copy" && !strings.Contains(string(it.Data), `"label_conflict":true`) {
			t.Errorf("a-copy's data does not flag the label conflict: %s", it.Data)
		}
	}
}

// A bad image fails its preprocess microtask permanently with the reason;
// with drop_bad it comes out dropped instead and the good ones are done.
func TestPreprocessBadImage(t *testing.T) {
	t.Parallel()
	s := blob.NewMem()
	reg := registry(imageops.Options{})
	good := put(t, s, "good", "x", pattern(t, 20, 10, 1))
	for _, name := range []string{"empty.png", "text.png", "truncated.jpg", "bomb-50000x50000.png"} {
		bad := put(t, s, "bad/"+name, "x", badFile(t, name))
		_, err := runOp(t, reg, imageops.OpPreprocess, "pre", `{"steps": [{"op": "resize", "size": [8]}]}`, s, good, bad)
		if err == nil || !worker.IsPermanent(err) || !strings.Contains(err.Error(), "bad/"+name) {
			t.Errorf("%s: error %v, want a permanent error naming the item", name, err)
		}
		out, err := runOp(t, reg, imageops.OpPreprocess, "pre", `{"steps": [{"op": "resize", "size": [8]}], "drop_bad": true}`, s, good, bad)
		if err != nil || len(out) != 2 || out[0].Dropped != "" || out[1].Dropped == "" {
			t.Fatalf("%s with drop_bad: %v %+v", name, err, out)
		}
		if im := imageOf(t, out[0]); im.Format != "tensor" || fmt.Sprint(im.Shape) != "[3 8 16]" {
			t.Errorf("good image: %+v", im)
		}
	}
}

// Augment makes params.variants items per image, named id#aug<k>, the
// same under the same seed and different under another.
func TestAugmentVariantsAndSeed(t *testing.T) {
	t.Parallel()
	s := blob.NewMem()
	reg := registry(imageops.Options{})
	in := put(t, s, "img", "x", pattern(t, 40, 40, 5))
	params := func(seed int) string {
		return fmt.Sprintf(`{"seed": %d, "variants": 3, "pipeline": {"steps": [{"op": "rotate", "degrees": [-30, 30]}, {"op": "random_crop", "size": [32]}]}}`, seed)
	}
	run := func(seed int) []task.Item {
		out, err := runOp(t, reg, imageops.OpAugment, "aug", params(seed), s, in)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b, c := run(1), run(1), run(2)
	if len(a) != 3 || a[2].ID != "img#aug2" {
		t.Fatalf("got %+v", a)
	}
	for k := range a {
		ia, ib, ic := imageOf(t, a[k]), imageOf(t, b[k]), imageOf(t, c[k])
		if ia.Blob != ib.Blob || ia.Blob == ic.Blob || ia.Parent != "img" || fmt.Sprint(ia.Shape) != "[3 32 32]" {
			t.Errorf("variant %d: seed 1 %s / %s, seed 2 %s, parent %q shape %v", k, ia.Blob, ib.Blob, ic.Blob, ia.Parent, ia.Shape)
		}
	}
	if imageOf(t, a[0]).Blob == imageOf(t, a[1]).Blob {
		t.Error("variants 0 and 1 are equal")
	}
}

// Pack gathers tensors into a dataset Load reads back; items that cannot
// be packed fail permanently, naming the item.
func TestPackRoundTrip(t *testing.T) {
	t.Parallel()
	s := blob.NewMem()
	reg := registry(imageops.Options{})
	pre := `{"steps": [{"op": "resize", "size": [6, 5]}, {"op": "grayscale", "channels": 1}]}`
	var tensors []task.Item
	for i := range 4 {
		out, err := runOp(t, reg, imageops.OpPreprocess, "pre", pre, s, put(t, s, fmt.Sprintf("i%d", i), []string{"b", "a"}[i%2], pattern(t, 12, 10, i+1)))
		if err != nil {
			t.Fatal(err)
		}
		tensors = append(tensors, out...)
	}
	out, err := runOp(t, reg, imageops.OpPack, "pack", "", s, tensors[3], tensors[1], tensors[0], tensors[2])
	if err != nil || len(out) != 1 || out[0].ID != "dataset" {
		t.Fatalf("pack: %v %+v", err, out)
	}
	var info pack.Info
	if err := jsonUnmarshal(out[0].Data, &info); err != nil {
		t.Fatal(err)
	}
	ds, err := pack.Load(ctxT(t), s, info.Dataset)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 4 || fmt.Sprint(ds.Shape) != "[1 6 5]" || fmt.Sprint(ds.Classes) != "[a b]" || fmt.Sprint(ds.Y) != "[1 0 1 0]" {
		t.Fatalf("dataset: %d items %v classes %v y %v", ds.Len(), ds.Shape, ds.Classes, ds.Y)
	}
	// Item i2 (third in id order) holds exactly its own tensor.
	t2, err := blob.Get(ctxT(t), s, imageOf(t, tensors[2]).Blob, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got := ds.Item(2); len(got) != 30 || !tensorEquals(t2, got) {
		t.Fatal("item 2 of the dataset is not the tensor of i2")
	}
	// A PNG among tensors, a missing label, mixed shapes: permanent errors naming the item.
	png := put(t, s, "p", "a", pattern(t, 6, 5, 9))
	odd, err := runOp(t, reg, imageops.OpPreprocess, "pre", `{"steps": [{"op": "resize", "size": [7, 5]}, {"op": "grayscale", "channels": 1}]}`, s, put(t, s, "odd", "a", pattern(t, 9, 9, 7)))
	if err != nil {
		t.Fatal(err)
	}
	unl := imageOf(t, tensors[0])
	unl.ID, unl.Label = "nolabel", ""
	for _, c := range []struct {
		extra task.Item
		words string
	}{{png, "item p"}, {odd[0], "item odd has shape [1 7 5]"}, {item(t, unl), "item nolabel has no label"}} {
		_, err := runOp(t, reg, imageops.OpPack, "pack", `{"classes": ["a", "b"]}`, s, tensors[0], c.extra)
		if err == nil || !worker.IsPermanent(err) || !errors.Is(err, pack.ErrInput) || !strings.Contains(err.Error(), c.words) {
			t.Errorf("want a permanent error with %q, got %v", c.words, err)
		}
	}
}

// Ingest reads files only under the worker's ingest roots.
func TestIngestRoots(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	other := t.TempDir()
	os.WriteFile(filepath.Join(root, "a.png"), pattern(t, 8, 8, 1), 0o644)
	os.WriteFile(filepath.Join(other, "secret.png"), pattern(t, 8, 8, 2), 0o644)
	os.Symlink(filepath.Join(other, "secret.png"), filepath.Join(root, "link.png"))
	s := blob.NewMem()
	src := func(path string) task.Item {
		return task.Item{ID: path, Data: []byte(fmt.Sprintf(`{"path": %q, "label": "l"}`, path))}
	}
	out, err := runOp(t, registry(imageops.Options{IngestRoots: []string{root}}), imageops.OpIngest, "in", "", s,
		src("a.png"), src(filepath.Join(root, "a.png")), src("missing.png"), src("link.png"))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 4 || out[0].Dropped != "" || imageOf(t, out[0]).Blob != blob.Sum(pattern(t, 8, 8, 1)) || imageOf(t, out[0]).Label != "l" {
		t.Fatalf("got %+v", out)
	}
	if !strings.Contains(out[2].Dropped, "does not exist") || !strings.Contains(out[3].Dropped, "outside") {
		t.Errorf("missing file / link out: %q / %q", out[2].Dropped, out[3].Dropped)
	}
	_, err = runOp(t, registry(imageops.Options{IngestRoots: []string{root}}), imageops.OpIngest, "in", "", s, src(filepath.Join(other, "secret.png")))
	if err == nil || !worker.IsPermanent(err) || !strings.Contains(err.Error(), "outside this worker's ingest roots") {
		t.Errorf("path outside the roots: %v", err)
	}
	_, err = runOp(t, registry(imageops.Options{}), imageops.OpIngest, "in", "", s, src("a.png"))
	if err == nil || !strings.Contains(err.Error(), "--ingest-root") {
		t.Errorf("no roots: %v", err)
	}
}

// Bad params are reported at submit, naming the field.
func TestCheckParams(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ op, params, words string }{
		{imageops.OpPreprocess, `{"steps": [{"op": "resize", "szie": [3]}]}`, `unknown field "szie"`},
		{imageops.OpPreprocess, `{"steps": [{"op": "resize", "size": [0]}]}`, "steps[0]"},
		{imageops.OpAugment, `{"variants": 0, "pipeline": {}}`, "variants"},
		{imageops.OpClean, `{"near": {"distance": 99}}`, "near.distance"},
		{imageops.OpPack, `{"classes": ["a", "a"]}`, "classes"},
	} {
		errs := imageops.CheckParams(c.op)(nil, &task.Stage{Params: []byte(c.params)})
		if len(errs) == 0 || !strings.Contains(fmt.Sprint(errs), c.words) {
			t.Errorf("%s %s: %v, want %q", c.op, c.params, errs, c.words)
		}
		if errs := imageops.CheckParams(c.op)(nil, &task.Stage{}); c.op != imageops.OpAugment && len(errs) != 0 {
			t.Errorf("%s without params: %v", c.op, errs)
		}
	}
	if imageops.CheckParams("noop") != nil {
		t.Error("CheckParams answers for an operator it does not own")
	}
}

// ResolveInput stores a class folder's images and makes them the job's
// items; limit keeps the first ones; unreadable entries are reported.
func TestResolveInputFolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i, p := range []string{"imgs/cat/1.png", "imgs/cat/2.png", "imgs/dog/1.png", "imgs/dog/2.png"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), pattern(t, 8, 8, i+1), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "imgs", "stray.png"), pattern(t, 8, 8, 9), 0o644)
	s := blob.NewMem()
	j, err := spec.Parse("job.yaml", []byte("input: {images: imgs, limit: 3}\nstages: [{op: preprocess}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := imageops.ResolveInput(ctxT(t), s, j, dir)
	if err != nil {
		t.Fatal(err)
	}
	items, err := spec.Items(j)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Items != 3 || len(items) != 3 || items[2].ID != "dog/1.png" || s.Len() != 3 || len(rep.Skipped) != 1 {
		t.Fatalf("report %+v, items %+v, %d blobs", rep, items, s.Len())
	}
	if im := imageOf(t, items[2]); im.Label != "dog" || im.Blob != blob.Sum(pattern(t, 8, 8, 3)) {
		t.Errorf("item: %+v", im)
	}
	j, _ = spec.Parse("job.yaml", []byte("input: {images: nowhere}\nstages: [{op: preprocess}]\n"))
	if _, err := imageops.ResolveInput(ctxT(t), s, j, dir); err == nil || !strings.Contains(err.Error(), "input.images") {
		t.Errorf("missing folder: %v", err)
	}
}

// countingStore counts the bytes sent to Put and PutExpect.
type countingStore struct {
	*blob.Mem
	sent int
}

func (c *countingStore) PutExpect(ctx context.Context, want blob.Ref, r io.Reader) error {
	data, _ := io.ReadAll(r)
	c.sent += len(data)
	return c.Mem.PutExpect(ctx, want, bytes.NewReader(data))
}

func (c *countingStore) Put(ctx context.Context, r io.Reader) (blob.Ref, error) {
	data, _ := io.ReadAll(r)
	c.sent += len(data)
	return c.Mem.Put(ctx, bytes.NewReader(data))
}

// Resolving the same images twice sends their bytes once.
func TestResolveInputSkipsKnownBlobs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "imgs", "a"), 0o755)
	for i := range 3 {
		os.WriteFile(filepath.Join(dir, "imgs", "a", fmt.Sprintf("%d.png", i)), pattern(t, 16, 16, i+1), 0o644)
	}
	s := &countingStore{Mem: blob.NewMem()}
	resolve := func() {
		j, _ := spec.Parse("job.yaml", []byte("input: {images: imgs}\nstages: [{op: preprocess}]\n"))
		if rep, err := imageops.ResolveInput(ctxT(t), s, j, dir); err != nil || rep.Items != 3 {
			t.Fatalf("%v %+v", err, rep)
		}
	}
	resolve()
	first := s.sent
	resolve()
	if first == 0 || s.sent != first || s.Len() != 3 {
		t.Fatalf("sent %d bytes, then %d more; %d blobs", first, s.sent-first, s.Len())
	}
}
