package pack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc"
	"github.com/myriadhq/myriad/imgproc/pack"
	"github.com/myriadhq/myriad/tensor"
)

func putTensor(t *testing.T, s blob.Store, vals ...float32) blob.Ref {
	t.Helper()
	x := tensor.NewFloat32(1, 1, len(vals))
	copy(x.F32, vals)
	data, err := x.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := blob.PutBytes(context.Background(), s, data)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// Build sorts by id whatever the input order, so the same items give the
// same dataset ref; Load returns them with labels indexed into classes.
func TestBuildLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := blob.NewMem()
	items := []imgproc.Item{
		{ID: "c", Label: "dog", Format: "tensor", Blob: putTensor(t, s, 5, 6)},
		{ID: "a", Label: "cat", Format: "tensor", Blob: putTensor(t, s, 1, 2)},
		{ID: "b", Label: "dog", Blob: putTensor(t, s, 3, 4)},
	}
	info, err := pack.Build(ctx, s, items, pack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	again, err := pack.Build(ctx, s, []imgproc.Item{items[1], items[2], items[0]}, pack.Options{})
	if err != nil || again.Dataset != info.Dataset {
		t.Fatalf("another order gave %v (%v), want %s", again, err, info.Dataset)
	}
	d, err := pack.Load(ctx, s, info.Dataset)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(d.X, d.Y, d.Classes, d.Shape, info.ClassCounts) != "[1 2 3 4 5 6] [0 1 1] [cat dog] [1 1 2] [1 2]" {
		t.Fatalf("got %v %v %v %v %v", d.X, d.Y, d.Classes, d.Shape, info.ClassCounts)
	}
}

// A manifest written without ids (as ml tools may) loads; one whose parts
// disagree, or that is not a manifest, is refused with ErrFormat.
func TestLoadChecks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := blob.NewMem()
	x := tensor.NewFloat32(2, 1, 1, 2)
	data, _ := x.Marshal()
	xref, _ := blob.PutBytes(ctx, s, data)
	manifest := func(items int, format string) blob.Ref {
		b, _ := json.Marshal(map[string]any{"format": format, "x": xref, "shape": []int{1, 1, 2}, "items": items, "classes": []string{"a", "b"}, "y": make([]int, items)})
		ref, _ := blob.PutBytes(ctx, s, b)
		return ref
	}
	if d, err := pack.Load(ctx, s, manifest(2, pack.Format)); err != nil || d.Len() != 2 {
		t.Fatalf("manifest without ids: %v", err)
	}
	for _, ref := range []blob.Ref{manifest(3, pack.Format), manifest(2, "other/v9"), putTensor(t, s, 1)} {
		if _, err := pack.Load(ctx, s, ref); !errors.Is(err, pack.ErrFormat) || !strings.Contains(err.Error(), string(ref)) {
			t.Errorf("want ErrFormat naming %s, got %v", ref, err)
		}
	}
}
