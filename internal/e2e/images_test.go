package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc/pack"
	"github.com/myriadhq/myriad/task"
)

// writePNG writes a small distinct RGB image.
func writePNG(t *testing.T, path string, seed int) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	for y := range 30 {
		for x := range 40 {
			img.Set(x, y, color.NRGBA{uint8(x * seed), uint8(y * 7), uint8(seed * 40), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A zero-byte file, a text file named .png, a truncated JPEG and a
// decompression bomb (855 bytes claiming 50 000 × 50 000 pixels) in an
// image folder submitted to a real coordinator process and worker
// process: each fails only its own microtask, at once (no retries, the
// input is at fault) and with the reason; the good images are done; the
// worker's peak memory stays far below what decoding the bomb would take
// (2.5 GB for its gray pixels alone).
func TestImagesBadInputFailsOnlyItsMicrotask(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(repoRoot(t), "imgproc", "testdata", "bad")
	imgs := filepath.Join(dir, "imgs")
	for i := range 3 {
		writePNG(t, filepath.Join(imgs, "good", fmt.Sprintf("g%d.png", i)), i+1)
	}
	want := map[string]string{ // file → words its microtask's error must hold
		"empty.png":            "empty file",
		"text.png":             "not a recognised image",
		"truncated.jpg":        "truncated image",
		"bomb-50000x50000.png": "image too large",
	}
	for name := range want {
		copyFile(t, filepath.Join(bad, name), filepath.Join(imgs, "bad", name))
	}
	addr := freeAddr(t)
	url := "http://" + addr
	startServer(t, addr, filepath.Join(dir, "data"))
	w := start(t, "worker", "worker", "--server", url, "--slots", "2")
	writeFile(t, dir, "job.yaml", `name: bad-images
input: {images: imgs}
stages:
  - name: pre
    op: preprocess
    retries: 3
    params:
      steps: [{op: resize, size: [16, 16]}]
      output: {mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}
`)
	code, stdout, stderr := runCLI(t, dir, "submit", "job.yaml", "--server", url, "--wait")
	if code != 3 {
		t.Fatalf("submit --wait: exit %d, want 3 (job completed with errors)\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "input: 7 images") {
		t.Errorf("submit did not report the 7 images it stored: %s", stderr)
	}
	id := strings.TrimSpace(strings.SplitN(stdout, "\n", 2)[0])
	code, stdout, _ = runCLI(t, dir, "status", id, "--server", url, "--json")
	var st api.JobStatus
	if code != 0 || json.Unmarshal([]byte(stdout), &st) != nil {
		t.Fatalf("status: exit %d: %s", code, stdout)
	}
	if st.State != task.JobCompletedWithErrors || st.Counts.Done != 3 || st.Counts.Dead != 4 {
		t.Fatalf("job %s: %+v, want 3 done and 4 dead", st.State, st.Counts)
	}
	for _, e := range st.Errors {
		name := ""
		for n := range want {
			if strings.Contains(e.Error, "bad/"+n+":") {
				name = n
			}
		}
		if name == "" {
			t.Fatalf("microtask %d died with an error naming none of the bad files: %s", e.Task, e.Error)
		}
		if words := want[name]; !strings.Contains(e.Error, words) {
			t.Errorf("%s: error %q does not say %q", name, e.Error, words)
		}
		if e.Attempts != 1 {
			t.Errorf("%s: %d attempts; a bad image is not worth retrying", name, e.Attempts)
		}
		delete(want, name)
	}
	if len(want) != 0 {
		t.Fatalf("no dead microtask for %v: %+v", want, st.Errors)
	}
	code, stdout, _ = runCLI(t, dir, "results", id, "--server", url)
	if code != 0 || strings.Count(stdout, `"format":"tensor"`) != 3 || strings.Count(stdout, `"shape":[3,16,16]`) != 3 {
		t.Fatalf("results: exit %d: %s", code, stdout)
	}
	w.signal(syscall.SIGTERM)
	if code, ok := w.wait(30 * time.Second); !ok || code != 0 {
		t.Fatalf("worker after SIGTERM: exit %d (exited %v)", code, ok)
	}
	ru, ok := w.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Fatal("no resource usage for the worker process")
	}
	peak := ru.Maxrss << 10 // KiB on Linux
	t.Logf("worker peak RSS %.1f MB", float64(peak)/1e6)
	if peak > 400<<20 {
		t.Fatalf("worker peak RSS %d MB: the bomb was decoded?", peak>>20)
	}
}

// examples/images.yaml on 200 digits, twice, then with another seed: the
// packed dataset has the expected shape (200 originals + 400 variants of
// [1, 28, 28]), values within the normalised range, all ten classes; the
// two runs under the same seed give the same bytes (same results file,
// same dataset ref); another seed changes the dataset.
func TestImagesExampleDeterministic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "images.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte("limit: 2000")) || !bytes.Contains(src, []byte("seed: 42")) {
		t.Fatal("examples/images.yaml no longer says limit: 2000 and seed: 42; update this test")
	}
	small := bytes.Replace(src, []byte("limit: 2000"), []byte("limit: 200"), 1)
	writeFile(t, dir, "images.yaml", string(small))
	writeFile(t, dir, "seed7.yaml", string(bytes.Replace(small, []byte("seed: 42"), []byte("seed: 7"), 1)))
	run := func(name, spec string) (results []byte, data string) {
		data = filepath.Join(dir, name)
		out := filepath.Join(dir, name+".jsonl")
		code, _, stderr := runCLI(t, dir, "run", spec, "--data", data, "-o", out, "--slots", "2")
		if code != 0 {
			t.Fatalf("run %s: exit %d: %s", name, code, tail(stderr, 30))
		}
		res, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return res, data
	}
	res1, data1 := run("a", "images.yaml")
	res2, _ := run("b", "images.yaml")
	res3, _ := run("c", "seed7.yaml")
	if !bytes.Equal(res1, res2) {
		t.Fatalf("same seed, different results:\n%s\n%s", res1, res2)
	}
	if bytes.Equal(res1, res3) {
		t.Fatalf("seed 7 gave the same results as seed 42: %s", res1)
	}
	var line api.ResultLine
	if err := json.Unmarshal(bytes.TrimSpace(res1), &line); err != nil || line.Stage != "pack" {
		t.Fatalf("want one pack result line, got %s (%v)", res1, err)
	}
	var info pack.Info
	if err := json.Unmarshal(line.Data, &info); err != nil {
		t.Fatal(err)
	}
	store, err := blob.OpenLocal(filepath.Join(data1, "blobs"), blob.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ds, err := pack.Load(ctx, store, info.Dataset)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 600 || fmt.Sprint(ds.Shape) != "[1 28 28]" || len(ds.Classes) != 10 {
		t.Fatalf("dataset: %d items of %v, %d classes; want 600 of [1 28 28], 10", ds.Len(), ds.Shape, len(ds.Classes))
	}
	if err := ds.CheckAllClasses(); err != nil {
		t.Fatal(err)
	}
	lo, hi := (0-0.1307)/0.3081, (1-0.1307)/0.3081
	minV, maxV := math.Inf(1), math.Inf(-1)
	for _, v := range ds.X {
		minV, maxV = math.Min(minV, float64(v)), math.Max(maxV, float64(v))
	}
	if minV < lo-1e-4 || maxV > hi+1e-4 || maxV-minV < 2 {
		t.Fatalf("values in [%g, %g], want within [%g, %g] and spread over it", minV, maxV, lo, hi)
	}
	m, err := pack.ReadManifest(ctx, store, info.Dataset)
	if err != nil {
		t.Fatal(err)
	}
	idx := map[string]int{}
	for i, id := range m.IDs {
		idx[id] = i
	}
	orig, ok1 := idx["mnist-train/00000"]
	aug, ok2 := idx["mnist-train/00000#aug0"]
	if !ok1 || !ok2 || ds.Y[orig] != ds.Y[aug] {
		t.Fatalf("want digit 0 and its variant 0 with one label: ids %v…", m.IDs[:4])
	}
	if slicesEqual(ds.Item(orig), ds.Item(aug)) {
		t.Fatal("variant 0 of digit 0 equals the original: augment did nothing")
	}
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// `myriad run --dropped FILE` keeps clean's report after the embedded
// coordinator is gone: each bad file and the duplicate with its reason;
// the results hold only the good images.
func TestImagesRunCleanReport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(repoRoot(t), "imgproc", "testdata", "bad")
	for _, name := range []string{"empty.png", "text.png", "truncated.jpg", "bomb-50000x50000.png"} {
		copyFile(t, filepath.Join(bad, name), filepath.Join(dir, "imgs", "b", name))
	}
	writePNG(t, filepath.Join(dir, "imgs", "a", "1.png"), 1)
	writePNG(t, filepath.Join(dir, "imgs", "a", "2.png"), 2)
	writePNG(t, filepath.Join(dir, "imgs", "b", "copy-of-1.png"), 1)
	writeFile(t, dir, "job.yaml", "input: {images: imgs}\nstages:\n  - {op: clean}\n  - {op: preprocess, params: {steps: [{op: resize, size: [8]}]}}\n")
	code, _, stderr := runCLI(t, dir, "run", "job.yaml", "-o", "out.jsonl", "--dropped", "dropped.jsonl", "--slots", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "dropped: 5 items (duplicate 1, empty 1, not_image 1, too_large 1, truncated 1)") {
		t.Errorf("stderr does not sum up the dropped items: %s", stderr)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "out.jsonl"))
	dropped, _ := os.ReadFile(filepath.Join(dir, "dropped.jsonl"))
	if strings.Count(string(out), "\n") != 2 || !strings.Contains(string(out), `"id":"a/1.png"`) || !strings.Contains(string(out), `"id":"a/2.png"`) {
		t.Fatalf("results: %s", out)
	}
	for _, want := range []string{`"dropped":"empty: `, `"dropped":"not_image: `, `"dropped":"truncated: `, `"dropped":"too_large: `, `"dropped":"duplicate: same content as `} {
		if !strings.Contains(string(dropped), want) {
			t.Errorf("dropped report lacks %s:\n%s", want, dropped)
		}
	}
}
