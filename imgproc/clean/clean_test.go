package clean_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc"
	"github.com/myriadhq/myriad/imgproc/clean"
)

// scene draws a photo-like image that differs with seed: overlapping
// shapes of random colour on a gradient, so its spectrum spreads over many
// frequencies as a photo's does (perceptual hashes of very smooth
// synthetic images are unstable). Coordinates are relative, so the same
// seed at another size is the same picture.
func scene(seed uint64, w, h int) *image.NRGBA {
	r := rand.New(rand.NewPCG(seed, 0))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(255 * x / w), G: uint8(255 * y / h), B: 128, A: 255})
		}
	}
	for range 12 {
		cx, cy, rad := r.Float64(), r.Float64(), 0.05+0.3*r.Float64()
		c := color.NRGBA{R: uint8(r.IntN(256)), G: uint8(r.IntN(256)), B: uint8(r.IntN(256)), A: 255}
		round := r.IntN(2) == 0
		for y := range h {
			for x := range w {
				dx, dy := float64(x)/float64(w)-cx, float64(y)/float64(h)-cy
				if round && dx*dx+dy*dy < rad*rad || !round && dx > -rad && dx < rad && dy > -rad/2 && dy < rad/2 {
					img.SetNRGBA(x, y, c)
				}
			}
		}
	}
	return img
}

func pngBytes(img image.Image) []byte {
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func jpegBytes(img image.Image, q int) []byte {
	var b bytes.Buffer
	jpeg.Encode(&b, img, &jpeg.Options{Quality: q})
	return b.Bytes()
}

type fixture struct {
	s     blob.Store
	items []imgproc.Item
}

func (f *fixture) add(t *testing.T, id, label string, data []byte) {
	t.Helper()
	ref, err := blob.PutBytes(context.Background(), f.s, data)
	if err != nil {
		t.Fatal(err)
	}
	f.items = append(f.items, imgproc.Item{ID: id, Blob: ref, Label: label})
}

func (f *fixture) check(t *testing.T, cfg *clean.Config) []clean.Checked {
	t.Helper()
	var out []clean.Checked
	for _, it := range f.items {
		c, err := clean.Check(context.Background(), f.s, it, cfg)
		if err != nil {
			t.Fatalf("Check(%s): %v", it.ID, err)
		}
		out = append(out, c)
	}
	return out
}

func badFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "bad", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCleanReport(t *testing.T) {
	t.Parallel()
	f := &fixture{s: blob.NewMem()}
	a := scene(1, 96, 64)
	f.add(t, "a/original.png", "cat", pngBytes(a))
	// The same photo, twice the size and re-encoded as JPEG: a near
	// duplicate, and the one to keep (more pixels).
	f.add(t, "a/bigger.jpg", "cat", jpegBytes(imaging.Resize(a, 192, 128, imaging.Linear), 75))
	f.add(t, "a/copy.png", "dog", pngBytes(a)) // exact duplicate, other label
	f.add(t, "b.png", "cat", pngBytes(scene(2, 96, 64)))
	f.add(t, "c.png", "dog", pngBytes(scene(3, 96, 64)))
	f.add(t, "tiny.png", "dog", pngBytes(scene(4, 8, 8)))
	f.add(t, "huge.png", "dog", pngBytes(image.NewGray(image.Rect(0, 0, 3000, 20))))
	f.add(t, "bad/empty.png", "cat", badFile(t, "empty.png"))
	f.add(t, "bad/text.png", "cat", badFile(t, "text.png"))
	f.add(t, "bad/truncated.jpg", "cat", badFile(t, "truncated.jpg"))
	f.add(t, "bad/bomb.png", "cat", badFile(t, "bomb-50000x50000.png"))

	cfg := &clean.Config{MinWidth: 16, MinHeight: 16, MaxWidth: 2000, Near: &clean.Near{Distance: 6}}
	rep, err := clean.Merge(f.check(t, cfg), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, it := range rep.Kept {
		kept = append(kept, it.ID)
	}
	if strings.Join(kept, " ") != "a/bigger.jpg b.png c.png" {
		t.Errorf("kept %v, want [a/bigger.jpg b.png c.png]", kept)
	}
	want := map[string]string{
		"a/original.png":    "near_duplicate",
		"a/copy.png":        "near_duplicate",
		"tiny.png":          "too_small",
		"huge.png":          "too_big",
		"bad/empty.png":     "empty",
		"bad/text.png":      "not_image",
		"bad/truncated.jpg": "truncated",
		"bad/bomb.png":      "too_large",
	}
	for _, r := range rep.Rejected {
		if want[r.ID] != r.Reason {
			t.Errorf("%s rejected as %s (%s), want %s", r.ID, r.Reason, r.Detail, want[r.ID])
		}
		if r.Detail == "" {
			t.Errorf("%s: no detail", r.ID)
		}
		delete(want, r.ID)
	}
	if len(want) != 0 {
		t.Errorf("not rejected: %v", want)
	}
	if rep.Counts["near_duplicate"] != 2 || rep.Counts["too_large"] != 1 {
		t.Errorf("counts %v", rep.Counts)
	}
}

func TestCleanExactDuplicatesAndLabelConflict(t *testing.T) {
	t.Parallel()
	f := &fixture{s: blob.NewMem()}
	img := pngBytes(scene(9, 32, 32))
	f.add(t, "z", "cat", img)
	f.add(t, "a", "cat", img)
	f.add(t, "m", "dog", img)
	cfg := &clean.Config{}
	rep, err := clean.Merge(f.check(t, cfg), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Kept) != 1 || rep.Kept[0].ID != "a" {
		t.Fatalf("kept %+v, want only a (smallest id among identical files)", rep.Kept)
	}
	for _, r := range rep.Rejected {
		if r.Reason != "duplicate" || r.DuplicateOf != "a" || r.LabelConflict != (r.ID == "m") {
			t.Errorf("rejection %+v", r)
		}
	}
}

// Merge's decisions do not depend on the order results arrive in.
func TestMergeOrderIndependent(t *testing.T) {
	t.Parallel()
	f := &fixture{s: blob.NewMem()}
	for i := range 12 {
		img := scene(uint64(i%5), 40+i, 30+i) // pairs of near duplicates at different sizes
		f.add(t, string(rune('a'+i)), "x", jpegBytes(img, 80+i))
	}
	cfg := &clean.Config{Near: &clean.Near{Hash: "dhash", Distance: 6}}
	checked := f.check(t, cfg)
	first, _ := clean.Merge(checked, cfg)
	want, _ := json.Marshal(first)
	rng := rand.New(rand.NewPCG(3, 3))
	for range 5 {
		rng.Shuffle(len(checked), func(i, j int) { checked[i], checked[j] = checked[j], checked[i] })
		rep, _ := clean.Merge(checked, cfg)
		if got, _ := json.Marshal(rep); !bytes.Equal(got, want) {
			t.Fatalf("shuffled input changed the report:\n%s\nvs\n%s", got, want)
		}
	}
	if len(first.Kept) != 5 {
		t.Errorf("kept %d of 12 images drawn from 5 scenes, want 5", len(first.Kept))
	}
}

func TestMergeRejectsRepeatedIDs(t *testing.T) {
	t.Parallel()
	c := clean.Checked{Item: imgproc.Item{ID: "x"}}
	if _, err := clean.Merge([]clean.Checked{c, c}, &clean.Config{}); err == nil || !strings.Contains(err.Error(), `"x" appears twice`) {
		t.Fatalf("error %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	cfg := &clean.Config{MinWidth: -1, MinHeight: 50, MaxHeight: 10, Near: &clean.Near{Distance: 40, Hash: "ahash"}}
	err := cfg.Validate()
	for _, w := range []string{"min_width", "min_height: 50 exceeds max_height 10", "near.distance", `near.hash: unknown "ahash"`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
	if _, err := clean.Check(context.Background(), blob.NewMem(), imgproc.Item{ID: "x"}, cfg); err == nil {
		t.Error("Check with an invalid config: no error")
	}
}

// A missing blob says nothing about the image: it is an error, not a
// rejection, so the engine retries it.
func TestCheckMissingBlobIsAnError(t *testing.T) {
	t.Parallel()
	_, err := clean.Check(context.Background(), blob.NewMem(), imgproc.Item{ID: "x", Blob: blob.Sum([]byte("gone"))}, &clean.Config{})
	if err == nil || !strings.Contains(err.Error(), "clean x") {
		t.Fatalf("error %v, want one naming the item", err)
	}
}
