package imgproc

import (
	"bytes"
	"fmt"
	"image"
	"image/png"

	"github.com/myriadhq/myriad/tensor"
)

// ToTensor converts an opaque NRGBA image to a float32 tensor [C, H, W]
// with values x = v/255 (torchvision ToTensor), normalised per channel as
// (x - mean[c]) / std[c] when mean and std are given (torchvision
// Normalize). channels is 1 (take the first channel of a grayscale image)
// or 3. The arithmetic is float32, as in PyTorch, and is done once per
// possible byte value into a table, so the per-pixel cost is a lookup.
func ToTensor(img *image.NRGBA, channels int, mean, std []float64) (*tensor.Tensor, error) {
	if channels != 1 && channels != 3 {
		return nil, fmt.Errorf("to tensor: channels must be 1 or 3, got %d", channels)
	}
	if (mean != nil && len(mean) != channels) || (std != nil && len(std) != channels) {
		return nil, fmt.Errorf("to tensor: mean/std have %d/%d values for %d channels", len(mean), len(std), channels)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	t := tensor.NewFloat32(channels, h, w)
	plane := w * h
	for c := range channels {
		var lut [256]float32
		for v := range lut {
			x := float32(v) / 255
			if mean != nil {
				x = (x - float32(mean[c])) / float32(std[c])
			}
			lut[v] = x
		}
		dst := t.F32[c*plane : (c+1)*plane]
		for y := range h {
			off := img.PixOffset(b.Min.X, b.Min.Y+y)
			row := img.Pix[off : off+4*w]
			out := dst[y*w : (y+1)*w]
			for x := range out {
				out[x] = lut[row[4*x+c]]
			}
		}
	}
	return t, nil
}

// encodePNG stores a frame as PNG: 8-bit gray for one channel, RGB
// otherwise (the encoder drops the alpha of an opaque image).
func encodePNG(f frame) ([]byte, error) {
	var img image.Image = f.img
	if f.channels == 1 {
		b := f.img.Bounds()
		g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
		for y := range b.Dy() {
			row := f.img.Pix[f.img.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range b.Dx() {
				g.Pix[y*g.Stride+x] = row[4*x]
			}
		}
		img = g
	}
	var buf bytes.Buffer
	// Speed matters more than a few percent of size for intermediates.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode png: %w", err)
	}
	return buf.Bytes(), nil
}
