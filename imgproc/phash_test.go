package imgproc_test

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/myriadhq/myriad/imgproc"
)

// Perceptual hashes survive re-encoding and resizing but separate
// different images.
func TestPerceptualHashes(t *testing.T) {
	t.Parallel()
	a := pilSource()
	b := imaging.FlipH(gradient(64, 48))
	var buf bytes.Buffer
	jpeg.Encode(&buf, imaging.Resize(a, 128, 96, imaging.Linear), &jpeg.Options{Quality: 60})
	a2, _, err := image.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []struct {
		name string
		fn   func(image.Image) uint64
	}{{"phash", imgproc.PHash}, {"dhash", imgproc.DHash}} {
		same := imgproc.Hamming(h.fn(a), h.fn(a2))
		diff := imgproc.Hamming(h.fn(a), h.fn(b))
		if same > 4 || diff < 16 {
			t.Errorf("%s: distance to resized JPEG copy %d (want <= 4), to another image %d (want >= 16)", h.name, same, diff)
		}
	}
}
