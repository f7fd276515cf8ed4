package imgproc_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc"
	"github.com/myriadhq/myriad/imgproc/clean"
	"github.com/myriadhq/myriad/imgproc/ingest"
	"github.com/myriadhq/myriad/tensor"
)

// Fashion-MNIST statistics, the Normalize a trainer would use.
var fashionMean, fashionStd = []float64{0.2860}, []float64{0.3530}

// writeImageFolder lays out the first n Fashion-MNIST test images as
// <class>/<index>.png, plants the four bad inputs and one exact duplicate,
// and returns the folder.
func writeImageFolder(t *testing.T, n int) string {
	t.Helper()
	raw, err := ingest.ReadIDXFile(filepath.Join("testdata", "fashion-t10k-100-images-idx3-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	labels, err := ingest.ReadIDXFile(filepath.Join("testdata", "fashion-t10k-100-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(rel string, data []byte) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Class folder names avoid the "/" in "T-shirt/top".
	classDir := func(i int) string {
		return []string{"tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"}[labels.U8[i]]
	}
	for i := range n {
		var buf bytes.Buffer
		png.Encode(&buf, &image.Gray{Pix: raw.U8[i*784 : (i+1)*784], Stride: 28, Rect: image.Rect(0, 0, 28, 28)})
		write(classDir(i)+"/"+string(rune('a'+i/26))+string(rune('a'+i%26))+".png", buf.Bytes())
		if i == 0 {
			write(classDir(i)+"/zz-copy.png", buf.Bytes())
		}
	}
	for _, bad := range []string{"empty.png", "text.png", "truncated.jpg", "bomb-50000x50000.png"} {
		write("bag/"+bad, readTestdata(t, "bad/"+bad))
	}
	return dir
}

type pipelineRun struct {
	kept     []imgproc.Item
	rejected map[string]string // id -> reason
	outputs  map[string]blob.Ref
	items    []imgproc.Item
	cache    blob.CacheStats
	store    blob.Store // the coordinator's
}

// runPipeline is what the engine will do with these operators: ingest on
// the coordinator, then every per-item call on a worker whose blob store is
// a cache in front of the coordinator's, over HTTP.
func runPipeline(t *testing.T, dir string, seed uint64, reverse bool) *pipelineRun {
	t.Helper()
	ctx := context.Background()
	coord, err := blob.OpenLocal(t.TempDir(), blob.LocalOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { coord.Close() })
	mux := http.NewServeMux()
	mux.Handle("/v1/blobs/{ref}", &blob.Handler{Store: coord})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	local, err := blob.OpenLocal(t.TempDir(), blob.LocalOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { local.Close() })
	worker, err := blob.NewCache(ctx, local, &blob.Client{BaseURL: srv.URL + "/v1/blobs", HTTP: srv.Client()}, blob.CacheOptions{MaxBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}

	// 1. ingest
	ing, err := ingest.Folder(ctx, coord, dir, ingest.FolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	items := ing.Items
	if reverse {
		items = slices.Clone(items)
		slices.Reverse(items)
	}
	// 2. clean: per-item checks, then one merge
	cfg := &clean.Config{MinWidth: 16, MinHeight: 16}
	var checked []clean.Checked
	for _, it := range items {
		c, err := clean.Check(ctx, worker, it, cfg)
		if err != nil {
			t.Fatal(err)
		}
		checked = append(checked, c)
	}
	rep, err := clean.Merge(checked, cfg)
	if err != nil {
		t.Fatal(err)
	}
	run := &pipelineRun{kept: rep.Kept, rejected: map[string]string{}, outputs: map[string]blob.Ref{}, store: coord}
	for _, r := range rep.Rejected {
		run.rejected[r.ID] = r.Reason
	}
	// 3. preprocess: resize to 32, one gray channel, kept as PNG
	pre := &imgproc.Pipeline{
		Steps:  []imgproc.Step{{Op: "resize", Size: []int{32}}, {Op: "grayscale", Channels: 1}},
		Output: imgproc.Output{Format: "png"},
	}
	// 4. augment: three variants each, normalised tensors
	aug := &imgproc.Augment{Variants: 3, Pipeline: imgproc.Pipeline{
		Steps: []imgproc.Step{
			{Op: "rotate", Degrees: []float64{-10, 10}},
			{Op: "random_crop", Size: []int{28}, Padding: 2},
			{Op: "hflip"},
			{Op: "grayscale", Channels: 1},
		},
		Output: imgproc.Output{Mean: fashionMean, Std: fashionStd},
	}}
	for _, it := range rep.Kept {
		p, err := imgproc.Preprocess(ctx, worker, it, pre, "preprocess", seed)
		if err != nil {
			t.Fatal(err)
		}
		vs, err := imgproc.RunAugment(ctx, worker, p, aug, "augment", seed)
		if err != nil {
			t.Fatal(err)
		}
		run.outputs[p.ID] = p.Blob
		for _, v := range vs {
			run.outputs[v.ID] = v.Blob
			run.items = append(run.items, v)
		}
	}
	// What a trainer would do next: read the tensors from the
	// coordinator's store (the cache wrote them through).
	for _, v := range run.items {
		if ok, _ := blob.Has(ctx, coord, v.Blob); !ok {
			t.Fatalf("%s: output not on the coordinator", v.ID)
		}
	}
	run.cache = worker.Stats()
	return run
}

// Ingest → clean → preprocess → augment on 24 real Fashion-MNIST images
// plus planted bad files and a duplicate: shapes, value ranges, reasons,
// and identical outputs under the same seed in another order.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	dir := writeImageFolder(t, 24)
	a := runPipeline(t, dir, 42, false)

	wantRejected := map[string]string{
		"bag/empty.png":            "empty",
		"bag/text.png":             "not_image",
		"bag/truncated.jpg":        "truncated",
		"bag/bomb-50000x50000.png": "too_large",
		"boot/zz-copy.png":         "duplicate", // image 0 is an ankle boot
	}
	if len(a.rejected) != len(wantRejected) {
		t.Errorf("rejected %v, want %v", a.rejected, wantRejected)
	}
	for id, reason := range wantRejected {
		if a.rejected[id] != reason {
			t.Errorf("%s: rejected as %q, want %q", id, a.rejected[id], reason)
		}
	}
	if len(a.kept) != 24 || len(a.items) != 72 {
		t.Fatalf("kept %d and made %d variants, want 24 and 72", len(a.kept), len(a.items))
	}

	ctx := context.Background()
	lo, hi := float32((0-fashionMean[0])/fashionStd[0]), float32((1-fashionMean[0])/fashionStd[0])
	var sum float64
	var n int
	for _, v := range a.items {
		if v.Parent == "" || v.ID != v.Parent+"#aug0" && v.ID != v.Parent+"#aug1" && v.ID != v.Parent+"#aug2" {
			t.Fatalf("variant id %q of %q", v.ID, v.Parent)
		}
		if v.Label != filepath.Dir(v.Parent) {
			t.Fatalf("%s: label %q, want its class folder", v.ID, v.Label)
		}
		data, err := blob.Get(ctx, a.store, v.Blob, 0)
		if err != nil {
			t.Fatal(err)
		}
		tt, err := tensor.Unmarshal(data)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(tt.Shape, []int{1, 28, 28}) || !slices.Equal(v.Shape, tt.Shape) || v.Format != "tensor" {
			t.Fatalf("%s: tensor %v, item shape %v format %q; want [1 28 28] tensor", v.ID, tt.Shape, v.Shape, v.Format)
		}
		for _, x := range tt.F32 {
			if x < lo-1e-5 || x > hi+1e-5 {
				t.Fatalf("%s: value %v outside [%v, %v]", v.ID, x, lo, hi)
			}
			sum += float64(x)
			n++
		}
	}
	// Fashion-MNIST normalised by its own statistics averages near 0 (a
	// little below: rotation and padding add black).
	if mean := sum / float64(n); mean < -0.6 || mean > 0.3 {
		t.Errorf("mean of normalised outputs %v, want near 0", mean)
	}
	// Inputs came over HTTP once; preprocess outputs were read back by
	// augment from this worker's own cache.
	if a.cache.BytesFetched == 0 || a.cache.Hits < 24 || a.cache.BytesUploaded == 0 {
		t.Errorf("worker cache stats %+v: want fetches, ≥24 hits (augment reading preprocess outputs), uploads", a.cache)
	}

	// Same seed, items in reverse order, fresh stores: identical bytes.
	b := runPipeline(t, dir, 42, true)
	if len(b.outputs) != len(a.outputs) {
		t.Fatalf("second run made %d outputs, first %d", len(b.outputs), len(a.outputs))
	}
	for id, ref := range a.outputs {
		if b.outputs[id] != ref {
			t.Fatalf("%s: %s in one run, %s in the other with the same seed", id, ref, b.outputs[id])
		}
	}
	// Another seed changes the augmented variants (not the deterministic
	// preprocess output).
	c := runPipeline(t, dir, 43, false)
	same := 0
	for _, v := range a.items {
		if c.outputs[v.ID] == v.Blob {
			same++
		}
	}
	if same > len(a.items)/10 {
		t.Errorf("%d of %d variants identical under another seed", same, len(a.items))
	}
	for _, k := range a.kept {
		if c.outputs[k.ID] != a.outputs[k.ID] {
			t.Errorf("%s: deterministic preprocess output changed with the seed", k.ID)
		}
	}
}
