package picture

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/png"
	"testing"

	"github.com/myriadhq/myriad/ml"
)

// uri draws pix ([H, W] gray) as a PNG data: URI, as predict does.
func uri(t *testing.T, pix []byte, w, h int) string {
	t.Helper()
	g := image.NewGray(image.Rect(0, 0, w, h))
	copy(g.Pix, pix)
	var buf bytes.Buffer
	if err := png.Encode(&buf, g); err != nil {
		t.Fatal(err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

func TestIndexFindsTheImageAPictureShows(t *testing.T) {
	t.Parallel()
	pre := &ml.Preprocess{Shape: []int{1, 2, 2}, Scale: 1.0 / 255, Mean: []float64{0.5}, Std: []float64{0.25}}
	raw := [][]byte{{0, 64, 128, 255}, {10, 20, 30, 40}, {255, 0, 255, 0}}
	d := &ml.Dataset{Shape: []int{1, 2, 2}, Classes: []string{"a", "b"}, Preprocess: pre}
	for i, r := range raw {
		for _, v := range r {
			d.X = append(d.X, float32((float64(v)/255-0.5)/0.25))
		}
		d.Y = append(d.Y, i%2)
	}
	for i := range raw {
		got, err := Pixels(d, i)
		if err != nil || !bytes.Equal(got, raw[i]) {
			t.Fatalf("Pixels(%d) = %v, %v; want %v", i, got, err, raw[i])
		}
	}
	ix, err := NewIndex(d)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range raw {
		if got, ok := ix.Find(uri(t, r, 2, 2)); !ok || got != i {
			t.Errorf("Find(picture of %d) = %d, %v", i, got, ok)
		}
	}
	if _, ok := ix.Find(uri(t, []byte{1, 2, 3, 4}, 2, 2)); ok {
		t.Error("found an image that is not in the dataset")
	}
	for _, bad := range []string{"", "https://example.com/a.png", "data:image/png;base64,!!!", "data:image/png;base64,AAAA"} {
		if _, ok := ix.Find(bad); ok {
			t.Errorf("Find(%q) found something", bad)
		}
	}
	if _, err := Pixels(&ml.Dataset{Shape: []int{2, 2, 2}, X: make([]float32, 8), Y: []int{0}}, 0); err == nil {
		t.Error("Pixels took a 2-channel item")
	}
}
