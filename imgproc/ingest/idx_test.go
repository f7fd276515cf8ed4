package ingest_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc"
	"github.com/myriadhq/myriad/imgproc/ingest"
	"github.com/myriadhq/myriad/tensor"
)

func testdata(name string) string { return filepath.Join("..", "testdata", name) }

func TestIDXMNISTAndFashion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		prefix  string
		classes []string
		want    []string // first labels
	}{
		{"mnist", nil, []string{"7", "2", "1", "0", "4"}},
		{"fashion", ingest.FashionMNISTClasses, []string{"Ankle boot", "Pullover", "Trouser", "Trouser", "Shirt"}},
	} {
		images := testdata(tc.prefix + "-t10k-100-images-idx3-ubyte.gz")
		labels := testdata(tc.prefix + "-t10k-100-labels-idx1-ubyte.gz")
		raw, err := ingest.ReadIDXFile(images)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(raw.Shape, []int{100, 28, 28}) || raw.DType != tensor.Uint8 {
			t.Fatalf("%s images: %s %v, want uint8 [100 28 28]", tc.prefix, raw.DType, raw.Shape)
		}
		s := blob.NewMem()
		res, err := ingest.IDXFiles(ctx, s, images, labels, ingest.IDXOptions{Prefix: tc.prefix + "/test", Classes: tc.classes, Start: 10, Count: 20})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Items) != 20 || res.Items[0].ID != tc.prefix+"/test/00010" || res.Items[19].ID != tc.prefix+"/test/00029" {
			t.Fatalf("%s: %d items from %q to %q, want 20 from 00010 to 00029", tc.prefix, len(res.Items), res.Items[0].ID, res.Items[len(res.Items)-1].ID)
		}
		all, err := ingest.IDXFiles(ctx, s, images, labels, ingest.IDXOptions{Prefix: tc.prefix, Classes: tc.classes})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range all.Items[:5] {
			got = append(got, it.Label)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s labels %v, want %v", tc.prefix, got, tc.want)
		}
		if all.Items[3].Source != filepath.Base(images)+"#3" {
			t.Errorf("source %q", all.Items[3].Source)
		}
		// Each PNG blob decodes to exactly the IDX pixels.
		for _, i := range []int{0, 57, 99} {
			data, err := blob.Get(ctx, s, all.Items[i].Blob, 0)
			if err != nil {
				t.Fatal(err)
			}
			img, cfg, err := imgproc.Decode(data, imgproc.Limits{})
			if err != nil || cfg.Format != "png" {
				t.Fatalf("item %d: %v (%+v)", i, err, cfg)
			}
			g, ok := img.(*image.Gray)
			if !ok || !bytes.Equal(g.Pix, raw.U8[i*784:(i+1)*784]) {
				t.Errorf("item %d: PNG pixels differ from the IDX record", i)
			}
		}
	}
}

func idxBytes(typ byte, dims []uint32, data []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func TestReadIDXRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "header"},
		{"magic", []byte{1, 2, 8, 1, 0, 0, 0, 1, 5}, "bad magic"},
		{"float type", idxBytes(0x0D, []uint32{1}, []byte{0, 0, 0, 0}), "element type 0x0d not supported"},
		{"short data", idxBytes(0x08, []uint32{2, 2, 2}, []byte{1, 2, 3}), "8 bytes announced"},
		{"trailing data", idxBytes(0x08, []uint32{2}, []byte{1, 2, 3}), "continues past"},
		{"huge header", idxBytes(0x08, []uint32{1 << 30, 1 << 30, 1 << 30}, nil), "more than"},
		{"zero dim", idxBytes(0x08, []uint32{0, 28, 28}, nil), "dimension 0 is 0"},
	} {
		_, err := ingest.ReadIDX(bytes.NewReader(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestIDXLabelChecks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	images := tensor.NewUint8(3, 2, 2)
	labels := tensor.NewUint8(2)
	if _, err := ingest.IDX(ctx, blob.NewMem(), images, labels, ingest.IDXOptions{}); err == nil || !strings.Contains(err.Error(), "labels must be uint8 [3]") {
		t.Errorf("label count mismatch: %v", err)
	}
	labels = tensor.NewUint8(3)
	labels.U8[1] = 5
	res, err := ingest.IDX(ctx, blob.NewMem(), images, labels, ingest.IDXOptions{Classes: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 2 || len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].Reason, "label 5 has no class name") {
		t.Errorf("out-of-range label: %d items, skipped %+v", len(res.Items), res.Skipped)
	}
	if _, err := ingest.IDX(ctx, blob.NewMem(), images, nil, ingest.IDXOptions{Start: 4}); err == nil {
		t.Error("start past the end: no error")
	}
}
