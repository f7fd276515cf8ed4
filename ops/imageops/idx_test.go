package imageops_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc"
	"github.com/myriadhq/myriad/ml/dataset"
	"github.com/myriadhq/myriad/ops/imageops"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
)

func testdata(name string) string { return filepath.Join("..", "..", "imgproc", "testdata", name) }

// input.fashion_mnist reads the split's IDX files from the folder the
// locator names (here the first 100 test items, under the standard names)
// and stores each image as a gray PNG blob labelled with its class name.
func TestResolveInputFashionMNIST(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []struct{ from, to string }{
		{"fashion-t10k-100-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"},
		{"fashion-t10k-100-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"},
		{"fashion-t10k-100-images-idx3-ubyte.gz", "train-images-idx3-ubyte.gz"},
		{"fashion-t10k-100-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte.gz"},
	} {
		data, err := os.ReadFile(testdata(f.from))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f.to), data, 0o644)
	}
	t.Setenv(dataset.EnvFashionMNISTDir, dir)
	s := blob.NewMem()
	j, err := spec.Parse("job.yaml", []byte("input: {fashion_mnist: test, limit: 30}\nstages: [{op: preprocess}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := imageops.ResolveInput(ctxT(t), s, j, ".")
	if err != nil {
		t.Fatal(err)
	}
	items, err := spec.Items(j)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Items != 30 || len(items) != 30 || items[29].ID != "fashion-test/00029" || len(rep.Classes) != 10 {
		t.Fatalf("report %+v, %d items, last %s", rep, len(items), items[len(items)-1].ID)
	}
	// The first test item of Fashion-MNIST is an ankle boot.
	im := imageOf(t, items[0])
	if im.Label != "Ankle boot" || im.Format != "png" || fmt.Sprint(im.Shape) != "[1 28 28]" {
		t.Fatalf("item 0: %+v", im)
	}
	data, err := blob.Get(ctxT(t), s, im.Blob, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, conf, err := imgproc.Decode(data, imgproc.Limits{}); err != nil || conf.Width != 28 {
		t.Fatalf("blob of item 0: %v %+v", err, conf)
	}
}

// The ingest operator reads a slice of IDX files under its roots.
func TestIngestIDXSlice(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(testdata(""))
	if err != nil {
		t.Fatal(err)
	}
	src, _ := json.Marshal(map[string]any{"idx": map[string]any{
		"images": "mnist-t10k-100-images-idx3-ubyte.gz", "labels": "mnist-t10k-100-labels-idx1-ubyte.gz",
		"start": 10, "count": 5, "prefix": "m"}})
	s := blob.NewMem()
	out, err := runOp(t, registry(imageops.Options{IngestRoots: []string{root}}), imageops.OpIngest, "in", "", s, task.Item{ID: "part", Data: src})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 5 || out[0].ID != "m/00010" || out[4].ID != "m/00014" || s.Len() != 5 {
		t.Fatalf("got %d items (%v…), %d blobs", len(out), out[0].ID, s.Len())
	}
	if im := imageOf(t, out[0]); im.Label == "" || !strings.HasPrefix(string(im.Blob), "sha256:") {
		t.Fatalf("item: %+v", im)
	}
}
