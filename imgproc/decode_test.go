package imgproc_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc"
	"github.com/myriadhq/myriad/tensor"
)

func TestDecodeFormats(t *testing.T) {
	t.Parallel()
	img := gradient(40, 30)
	for _, format := range []string{"png", "jpeg", "gif", "bmp", "tiff"} {
		got, cfg, err := imgproc.Decode(encode(t, format, img), imgproc.Limits{})
		if err != nil {
			t.Errorf("%s: %v", format, err)
			continue
		}
		if cfg.Format != format || cfg.Width != 40 || cfg.Height != 30 || got.Bounds().Dx() != 40 {
			t.Errorf("%s: config %+v, bounds %v; want %s 40×30", format, cfg, got.Bounds(), format)
		}
	}
	_, cfg, err := imgproc.Decode(readTestdata(t, "tiny-20x12.webp"), imgproc.Limits{})
	if err != nil || cfg.Format != "webp" || cfg.Width != 20 || cfg.Height != 12 {
		t.Errorf("webp: %+v, %v; want webp 20×12", cfg, err)
	}
}

// The four bad inputs the issue names each fail with their own reason and
// a message saying what is wrong.
func TestDecodeBadInputs(t *testing.T) {
	t.Parallel()
	truncPNG := encode(t, "png", gradient(64, 64))
	truncPNG = truncPNG[:len(truncPNG)/2]
	tens, _ := tensor.NewFloat32(1, 2, 2).Marshal()
	for _, tc := range []struct {
		name    string
		data    []byte
		limits  imgproc.Limits
		want    error
		reason  string
		message string
	}{
		{"zero-byte file", readTestdata(t, "bad/empty.png"), imgproc.Limits{}, imgproc.ErrEmpty, "empty", "0 bytes"},
		{"text named .png", readTestdata(t, "bad/text.png"), imgproc.Limits{}, imgproc.ErrNotImage, "not_image", `starts with "This is a text f"`},
		{"truncated jpeg", readTestdata(t, "bad/truncated.jpg"), imgproc.Limits{}, imgproc.ErrTruncated, "truncated", "jpeg data ends early"},
		{"truncated png", truncPNG, imgproc.Limits{}, imgproc.ErrTruncated, "truncated", "png data ends early"},
		{"50000×50000 bomb", readTestdata(t, "bad/bomb-50000x50000.png"), imgproc.Limits{}, imgproc.ErrTooLarge, "too_large", "50000×50000 = 2500000000 pixels"},
		{"over max bytes", encode(t, "png", gradient(8, 8)), imgproc.Limits{MaxBytes: 10}, imgproc.ErrTooLarge, "too_large", "limit 10"},
		{"tensor blob", tens, imgproc.Limits{}, imgproc.ErrNotImage, "not_image", "is a myriad tensor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			img, _, err := imgproc.Decode(tc.data, tc.limits)
			if img != nil || !errors.Is(err, tc.want) {
				t.Fatalf("Decode error = %v, want %v", err, tc.want)
			}
			if got := imgproc.Reason(err); got != tc.reason {
				t.Errorf("Reason = %q, want %q", got, tc.reason)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not say %q", err, tc.message)
			}
		})
	}
}

// allocDuring returns the bytes allocated while fn runs. Not parallel-safe:
// callers must not run alongside other tests' allocations, so the tests
// using it do not call t.Parallel.
func allocDuring(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// The bomb is refused from its header: decoding it costs kilobytes, not
// the 2.5 GB its pixels would take.
func TestDecodeBombMemoryBounded(t *testing.T) {
	data := readTestdata(t, "bad/bomb-50000x50000.png")
	var err error
	n := allocDuring(func() { _, _, err = imgproc.Decode(data, imgproc.Limits{}) })
	if !errors.Is(err, imgproc.ErrTooLarge) {
		t.Fatalf("bomb decoded with error %v, want ErrTooLarge", err)
	}
	t.Logf("refusing the bomb allocated %d bytes", n)
	if n > 1<<20 {
		t.Fatalf("refusing the bomb allocated %d bytes, want < 1 MiB", n)
	}
}

// A real, fully valid 1500×1500 PNG (2.25 MB of pixels, a few KB compressed):
// with a 1-megapixel limit it is refused cheaply; without the limit the
// same decode allocates the full image. The second half shows the
// measurement above would catch a decode that ignored the limit.
func TestDecodePixelLimitPreventsAllocation(t *testing.T) {
	data := encode(t, "png", blackGray(1500, 1500))
	var err error
	refused := allocDuring(func() { _, _, err = imgproc.Decode(data, imgproc.Limits{MaxPixels: 1_000_000}) })
	if !errors.Is(err, imgproc.ErrTooLarge) {
		t.Fatalf("error = %v, want ErrTooLarge", err)
	}
	decoded := allocDuring(func() { _, _, err = imgproc.Decode(data, imgproc.Limits{}) })
	if err != nil {
		t.Fatalf("decode within default limits: %v", err)
	}
	t.Logf("allocated %d bytes refusing, %d decoding", refused, decoded)
	if refused > 1<<20 || decoded < 1500*1500 {
		t.Fatalf("allocated %d bytes refusing and %d decoding; want < 1 MiB and >= 2.25 MB", refused, decoded)
	}
}

func TestReadBlobBoundsSize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := blob.NewMem()
	ref, _ := blob.PutBytes(ctx, s, make([]byte, 1000))
	if _, err := imgproc.ReadBlob(ctx, s, ref, imgproc.Limits{MaxBytes: 999}); !errors.Is(err, imgproc.ErrTooLarge) {
		t.Fatalf("ReadBlob over MaxBytes error = %v, want ErrTooLarge", err)
	}
	if b, err := imgproc.ReadBlob(ctx, s, ref, imgproc.Limits{MaxBytes: 1000}); err != nil || len(b) != 1000 {
		t.Fatalf("ReadBlob at MaxBytes = %d bytes, %v", len(b), err)
	}
}

// Cutting a valid file anywhere past its signature reads as truncated, in
// every format with an encoder here.
func TestDecodeTruncatedAnywhere(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"png", "jpeg", "bmp", "tiff", "gif"} {
		data := encode(t, format, gradient(64, 48))
		bad := 0
		for cut := 16; cut < len(data)-1; cut += max(1, len(data)/97) {
			_, _, err := imgproc.Decode(data[:cut], imgproc.Limits{})
			if format == "gif" && err == nil {
				continue // the first frame can be complete before the trailer
			}
			if !errors.Is(err, imgproc.ErrTruncated) {
				bad++
				t.Logf("%s cut at %d of %d: %v", format, cut, len(data), err)
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d cuts not reported as truncated", format, bad)
		}
	}
}
