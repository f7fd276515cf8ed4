package imgproc_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/myriadhq/myriad/imgproc"
)

// FuzzDecode: the decoders' wrapper never panics, every failure is one
// of its named reasons, and a decoded image has the size its header
// announced (so the pixel limit, checked on the header, holds).
func FuzzDecode(f *testing.F) {
	img := image.NewRGBA(image.Rect(0, 0, 7, 5))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 37)
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	f.Add(b.Bytes())
	b.Reset()
	jpeg.Encode(&b, img, nil)
	f.Add(b.Bytes())
	b.Reset()
	gif.Encode(&b, image.NewPaletted(image.Rect(0, 0, 3, 2), color.Palette{color.Black, color.White}), nil)
	f.Add(b.Bytes())
	for _, name := range []string{"tiny-20x12.webp", "bad/truncated.jpg", "bad/text.png", "bad/bomb-50000x50000.png"} {
		if data, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("BM\x00\x00"))
	f.Add([]byte("II*\x00\x08\x00\x00\x00"))
	lim := imgproc.Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 20}
	reasons := []error{imgproc.ErrEmpty, imgproc.ErrNotImage, imgproc.ErrTruncated, imgproc.ErrCorrupt, imgproc.ErrTooLarge}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, cfg, err := imgproc.Decode(data, lim)
		if err != nil {
			for _, r := range reasons {
				if errors.Is(err, r) {
					return
				}
			}
			t.Fatalf("error without a reason: %v", err)
		}
		if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height || int64(cfg.Width)*int64(cfg.Height) > lim.MaxPixels {
			t.Fatalf("decoded %v, header %dx%d, limit %d pixels", b, cfg.Width, cfg.Height, lim.MaxPixels)
		}
	})
}
