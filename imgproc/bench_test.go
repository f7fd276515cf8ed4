package imgproc_test

import (
	"bytes"
	"image"
	"image/png"
	"path/filepath"
	"testing"

	"github.com/myriadhq/myriad/imgproc"
	"github.com/myriadhq/myriad/imgproc/ingest"
)

// Decode + resize + normalise, the per-image work of a preprocess
// microtask, without the blob store. Run single-core to get images per
// second per core:
//
//	go test ./imgproc -run '^$' -bench DecodeResizeNormalize -cpu 1
//
// imaging parallelises inside one resize, so -cpu 1 matters. The images/s
// metric is 1e9 / ns/op. cmd/imgbench does the same on real photos and
// writes the set Pillow's script reads (docs/images.md).
func BenchmarkDecodeResizeNormalize(b *testing.B) {
	b.Run("mnist-png-28", func(b *testing.B) {
		raw, err := ingest.ReadIDXFile(filepath.Join("testdata", "mnist-t10k-100-images-idx3-ubyte.gz"))
		if err != nil {
			b.Fatal(err)
		}
		var files [][]byte
		for i := range 100 {
			var buf bytes.Buffer
			png.Encode(&buf, &image.Gray{Pix: raw.U8[i*784 : (i+1)*784], Stride: 28, Rect: image.Rect(0, 0, 28, 28)})
			files = append(files, buf.Bytes())
		}
		p := &imgproc.Pipeline{
			Steps:  []imgproc.Step{{Op: "resize", Size: []int{32}}, {Op: "grayscale", Channels: 1}},
			Output: imgproc.Output{Mean: []float64{0.1307}, Std: []float64{0.3081}},
		}
		benchPipeline(b, p, files)
	})
	b.Run("jpeg-500x375-to-224", func(b *testing.B) {
		// Synthetic, photo-sized; cmd/imgbench measures real photos.
		var files [][]byte
		for i := range 8 {
			files = append(files, encode(b, "jpeg", noisyGradient(500, 375, i)))
		}
		p := &imgproc.Pipeline{
			Steps:  []imgproc.Step{{Op: "resize", Size: []int{256}}, {Op: "center_crop", Size: []int{224}}},
			Output: imgproc.Output{Mean: imgproc.ImageNetMean, Std: imgproc.ImageNetStd},
		}
		benchPipeline(b, p, files)
	})
}

func benchPipeline(b *testing.B, p *imgproc.Pipeline, files [][]byte) {
	if err := p.Validate(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		img, _, err := imgproc.Decode(files[i%len(files)], p.Limits)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Apply(img, nil); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}
