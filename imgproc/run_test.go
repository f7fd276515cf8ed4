package imgproc_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc"
	"github.com/myriadhq/myriad/tensor"
)

func putItem(t *testing.T, s blob.Store, id string, data []byte) imgproc.Item {
	t.Helper()
	ref, err := blob.PutBytes(context.Background(), s, data)
	if err != nil {
		t.Fatal(err)
	}
	return imgproc.Item{ID: id, Blob: ref, Label: "cat", Source: id}
}

func loadTensor(t *testing.T, s blob.Store, ref blob.Ref) *tensor.Tensor {
	t.Helper()
	b, err := blob.Get(context.Background(), s, ref, 0)
	if err != nil {
		t.Fatal(err)
	}
	tt, err := tensor.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return tt
}

func TestPreprocess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := blob.NewMem()
	in := putItem(t, s, "cat/1.jpg", encode(t, "jpeg", gradient(320, 240)))
	p := &imgproc.Pipeline{
		Steps:  []imgproc.Step{{Op: "resize", Size: []int{64}}, {Op: "center_crop", Size: []int{56}}},
		Output: imgproc.Output{Mean: imgproc.ImageNetMean, Std: imgproc.ImageNetStd},
	}
	out, err := imgproc.Preprocess(ctx, s, in, p, "preprocess", 1)
	if err != nil {
		t.Fatal(err)
	}
	if out.ID != in.ID || out.Label != "cat" || out.Format != "tensor" || out.Blob == in.Blob {
		t.Fatalf("output item %+v", out)
	}
	tt := loadTensor(t, s, out.Blob)
	if len(tt.Shape) != 3 || tt.Shape[0] != 3 || tt.Shape[1] != 56 || tt.Shape[2] != 56 {
		t.Fatalf("tensor shape %v, want [3 56 56]", tt.Shape)
	}
	if out.Shape[0] != 3 || out.Shape[1] != 56 || out.Shape[2] != 56 {
		t.Fatalf("item shape %v, want [3 56 56]", out.Shape)
	}
	// Normalised values lie within [(0-mean)/std, (1-mean)/std] per channel.
	for c := range 3 {
		lo := float32((0 - imgproc.ImageNetMean[c]) / imgproc.ImageNetStd[c])
		hi := float32((1 - imgproc.ImageNetMean[c]) / imgproc.ImageNetStd[c])
		for _, v := range tt.F32[c*56*56 : (c+1)*56*56] {
			if v < lo-1e-5 || v > hi+1e-5 {
				t.Fatalf("channel %d value %v outside [%v, %v]", c, v, lo, hi)
			}
		}
	}
}

// A bad input fails only its own call, with the item's id and a reason.
func TestPreprocessBadInputs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := blob.NewMem()
	p := &imgproc.Pipeline{Steps: []imgproc.Step{{Op: "resize", Size: []int{28}}}}
	for _, tc := range []struct {
		file string
		want error
	}{
		{"bad/empty.png", imgproc.ErrEmpty},
		{"bad/text.png", imgproc.ErrNotImage},
		{"bad/truncated.jpg", imgproc.ErrTruncated},
		{"bad/bomb-50000x50000.png", imgproc.ErrTooLarge},
	} {
		in := putItem(t, s, tc.file, readTestdata(t, tc.file))
		_, err := imgproc.Preprocess(ctx, s, in, p, "preprocess", 1)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.file) {
			t.Errorf("%s: error %v, want %v naming the item", tc.file, err, tc.want)
		}
	}
	bad := &imgproc.Pipeline{Steps: []imgproc.Step{{Op: "resize"}}}
	if _, err := imgproc.Preprocess(ctx, s, imgproc.Item{ID: "x"}, bad, "preprocess", 1); err == nil || !strings.Contains(err.Error(), "steps[0]") {
		t.Errorf("invalid pipeline: error %v, want one naming steps[0]", err)
	}
}

func TestAugmentVariants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := blob.NewMem()
	in := putItem(t, s, "dog/7.png", encode(t, "png", gradient(48, 40)))
	a := &imgproc.Augment{Variants: 5, KeepOriginal: true, Pipeline: imgproc.Pipeline{
		Steps: []imgproc.Step{
			{Op: "rotate", Degrees: []float64{-15, 15}},
			{Op: "random_crop", Size: []int{32}},
			{Op: "hflip"},
		},
	}}
	run := func(seed uint64, stage string) []imgproc.Item {
		out, err := imgproc.RunAugment(ctx, s, in, a, stage, seed)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	first := run(7, "augment")
	if len(first) != 6 || first[0].ID != in.ID || first[0].Blob != in.Blob {
		t.Fatalf("got %d items (first %+v), want the original then 5 variants", len(first), first[0])
	}
	refs := map[blob.Ref]bool{}
	for k, v := range first[1:] {
		if v.ID != imgproc.VariantID(in.ID, k) || v.ID != "dog/7.png#aug"+string(rune('0'+k)) || v.Parent != in.ID || v.Label != in.Label {
			t.Errorf("variant %d: %+v", k, v)
		}
		if tt := loadTensor(t, s, v.Blob); tt.Shape[1] != 32 || tt.Shape[2] != 32 {
			t.Errorf("variant %d shape %v, want [3 32 32]", k, tt.Shape)
		}
		refs[v.Blob] = true
	}
	if len(refs) != 5 {
		t.Errorf("5 variants have only %d distinct outputs", len(refs))
	}
	// Same seed: identical bytes, so identical refs. Another seed or
	// stage: different.
	again := run(7, "augment")
	other, otherStage := run(8, "augment"), run(7, "augment2")
	for k := 1; k < 6; k++ {
		if again[k].Blob != first[k].Blob {
			t.Errorf("variant %d differs between runs with the same seed", k-1)
		}
		if other[k].Blob == first[k].Blob || otherStage[k].Blob == first[k].Blob {
			t.Errorf("variant %d identical under another seed or stage", k-1)
		}
	}
	if err := (&imgproc.Augment{Variants: 0}).Validate(); err == nil || !strings.Contains(err.Error(), "variants") {
		t.Errorf("Variants 0: error %v, want one naming variants", err)
	}
}

func TestSeedIndependentOfOrder(t *testing.T) {
	t.Parallel()
	a := imgproc.Seed(1, "augment", "x", 0)
	if a != imgproc.Seed(1, "augment", "x", 0) {
		t.Fatal("Seed is not a function of its inputs")
	}
	seen := map[uint64]bool{a: true}
	for _, s := range []uint64{imgproc.Seed(2, "augment", "x", 0), imgproc.Seed(1, "augmen", "tx", 0), imgproc.Seed(1, "augment", "x", 1), imgproc.Seed(1, "augment", "y", 0)} {
		if seen[s] {
			t.Fatal("distinct inputs gave the same seed")
		}
		seen[s] = true
	}
}
