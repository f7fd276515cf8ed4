package mlops

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"math"

	"github.com/myriadhq/myriad/ml"
)

// imageURI renders one preprocessed item back to 8-bit pixels (undoing
// pre) as a PNG data URI, what a human stage shows people (its image
// field). Items of 1 channel are grey, of 3 RGB; others get none.
func imageURI(x []float32, pre ml.Preprocess, shape []int) string {
	if len(shape) != 3 || (shape[0] != 1 && shape[0] != 3) {
		return ""
	}
	c, h, w := shape[0], shape[1], shape[2]
	scale := pre.Scale
	if scale == 0 {
		scale = 1
	}
	pixel := func(ch, i int) uint8 {
		mean, std := 0.0, 1.0
		if ch < len(pre.Mean) {
			mean = pre.Mean[ch]
		}
		if ch < len(pre.Std) {
			std = pre.Std[ch]
		}
		v := (float64(x[ch*h*w+i])*std + mean) / scale
		return uint8(math.Round(math.Max(0, math.Min(255, v))))
	}
	var img image.Image
	if c == 1 {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range h * w {
			g.Pix[i] = pixel(0, i)
		}
		img = g
	} else {
		rgb := image.NewRGBA(image.Rect(0, 0, w, h))
		for i := range h * w {
			rgb.Set(i%w, i/w, color.RGBA{pixel(0, i), pixel(1, i), pixel(2, i), 255})
		}
		img = rgb
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return ""
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}
