package imageops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/tensor"
	"github.com/myriadhq/myriad/worker"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// pattern returns a w×h PNG whose content depends on seed.
func pattern(t testing.TB, w, h, seed int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := uint8((x*seed + y*(seed+3)) % 256)
			if (x/4+y/4+seed)%2 == 0 {
				v = 255 - v
			}
			img.SetNRGBA(x, y, color.NRGBA{R: v, G: uint8(y * seed), B: uint8(x + seed*30), A: 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// put stores data and returns an input item for it.
func put(t *testing.T, s blob.Store, id, label string, data []byte) task.Item {
	t.Helper()
	ref, err := blob.PutBytes(context.Background(), s, data)
	if err != nil {
		t.Fatal(err)
	}
	return item(t, imgproc.Item{ID: id, Blob: ref, Label: label})
}

func item(t *testing.T, im imgproc.Item) task.Item {
	t.Helper()
	data, err := json.Marshal(im)
	if err != nil {
		t.Fatal(err)
	}
	return task.Item{ID: im.ID, Data: data}
}

func imageOf(t *testing.T, it task.Item) imgproc.Item {
	t.Helper()
	var im imgproc.Item
	if err := json.Unmarshal(it.Data, &im); err != nil {
		t.Fatalf("item %s: %v", it.ID, err)
	}
	return im
}

// runOp runs a registered operator on items as a worker would.
func runOp(t *testing.T, reg *worker.Registry, op, stage string, params string, s blob.Store, items ...task.Item) ([]task.Item, error) {
	t.Helper()
	h, ok := reg.Lookup(op)
	if !ok {
		t.Fatalf("operator %s is not registered", op)
	}
	var p json.RawMessage
	if params != "" {
		p = json.RawMessage(params)
	}
	return h(ctxT(t), &worker.Task{Stage: stage, Op: op, Params: p, Items: items, Blobs: s})
}

func badFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "imgproc", "testdata", "bad", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// tensorEquals reports whether an encoded float32 tensor holds want.
func tensorEquals(encoded []byte, want []float32) bool {
	t, err := tensor.Unmarshal(encoded)
	if err != nil || len(t.F32) != len(want) {
		return false
	}
	for i := range want {
		if t.F32[i] != want[i] {
			return false
		}
	}
	return true
}
