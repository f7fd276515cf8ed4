// Package picture finds a dataset's image from the picture the annotator
// app shows of it (a PNG data: URI, as predict attaches to the items it
// is unsure of). The demo's simulated annotators use it to "see" a digit
// — they recognise the picture and know its true label — and the browser
// test uses it to answer like a careful person.
package picture

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"math"
	"strings"

	"github.com/myriadhq/myriad/ml"
)

// Pixels returns item i of d as 8-bit values, channel-major ([C, H, W]),
// with the dataset's normalisation undone: the pixels a picture of it
// shows.
func Pixels(d *ml.Dataset, i int) ([]byte, error) {
	if len(d.Shape) != 3 || (d.Shape[0] != 1 && d.Shape[0] != 3) {
		return nil, fmt.Errorf("picture: items of shape %v are not 1- or 3-channel images", d.Shape)
	}
	hw := d.Shape[1] * d.Shape[2]
	x := d.Item(i)
	out := make([]byte, len(x))
	for k, f := range x {
		v := float64(f)
		ch := k / hw
		if pre := d.Preprocess; pre != nil {
			if ch < len(pre.Std) {
				v *= pre.Std[ch]
			}
			if ch < len(pre.Mean) {
				v += pre.Mean[ch]
			}
			if pre.Scale > 0 {
				v /= pre.Scale
			}
		} else {
			v *= 255
		}
		out[k] = uint8(math.Round(math.Max(0, math.Min(255, v))))
	}
	return out, nil
}

// Decode reads the pixels of a PNG data: URI as Pixels lays them out, for
// a picture of the given channels (1 gray, 3 RGB).
func Decode(uri string, channels int) ([]byte, error) {
	const prefix = "data:image/png;base64,"
	if !strings.HasPrefix(uri, prefix) || (channels != 1 && channels != 3) {
		return nil, errors.New("picture: not a PNG data: URI")
	}
	raw, err := base64.StdEncoding.DecodeString(uri[len(prefix):])
	if err != nil {
		return nil, fmt.Errorf("picture: %w", err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("picture: %w", err)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]byte, channels*h*w)
	for y := range h {
		for x := range w {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			out[y*w+x] = uint8(r >> 8)
			if channels == 3 {
				out[h*w+y*w+x], out[2*h*w+y*w+x] = uint8(g>>8), uint8(bl>>8)
			}
		}
	}
	return out, nil
}

// Index finds a dataset's images by their pixels.
type Index struct {
	channels int
	byPixels map[string]int
}

// NewIndex indexes every image of d (the first of identical ones wins).
func NewIndex(d *ml.Dataset) (*Index, error) {
	ix := &Index{byPixels: make(map[string]int, d.Len())}
	if len(d.Shape) > 0 {
		ix.channels = d.Shape[0]
	}
	for i := range d.Len() {
		pix, err := Pixels(d, i)
		if err != nil {
			return nil, err
		}
		if _, dup := ix.byPixels[string(pix)]; !dup {
			ix.byPixels[string(pix)] = i
		}
	}
	return ix, nil
}

// Find returns the index of the image a picture shows.
func (ix *Index) Find(uri string) (int, bool) {
	pix, err := Decode(uri, ix.channels)
	if err != nil {
		return 0, false
	}
	i, ok := ix.byPixels[string(pix)]
	return i, ok
}
