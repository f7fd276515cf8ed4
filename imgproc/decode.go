package imgproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"strings"

	// Decoders register themselves with package image; these are the
	// formats ImageFolder-style data sets contain in practice.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"

	"github.com/myriadhq/myriad/blob"
)

// Default safety limits. MaxPixels admits a 40-megapixel photo (an RGBA
// decode of it takes 160 MB) but refuses decompression bombs long before
// they allocate: the check runs on the header, before any pixel is decoded.
const (
	DefaultMaxBytes  = 64 << 20
	DefaultMaxPixels = 40_000_000
)

// Limits bound what a decode may read and allocate.
type Limits struct {
	// MaxBytes is the largest encoded file accepted; 0 means
	// DefaultMaxBytes.
	MaxBytes int64 `json:"max_bytes,omitempty"`
	// MaxPixels is the largest width×height accepted; 0 means
	// DefaultMaxPixels.
	MaxPixels int64 `json:"max_pixels,omitempty"`
}

func (l Limits) maxBytes() int64 {
	if l.MaxBytes > 0 {
		return l.MaxBytes
	}
	return DefaultMaxBytes
}

func (l Limits) maxPixels() int64 {
	if l.MaxPixels > 0 {
		return l.MaxPixels
	}
	return DefaultMaxPixels
}

// Validate names a negative limit.
func (l Limits) Validate() error {
	if l.MaxBytes < 0 {
		return fmt.Errorf("max_bytes: must not be negative, got %d", l.MaxBytes)
	}
	if l.MaxPixels < 0 {
		return fmt.Errorf("max_pixels: must not be negative, got %d", l.MaxPixels)
	}
	return nil
}

// Reasons an input is refused. Errors from Decode wrap exactly one of
// these; Reason maps an error back to a short code for reports.
var (
	ErrEmpty     = errors.New("empty file")
	ErrNotImage  = errors.New("not a recognised image")
	ErrTruncated = errors.New("truncated image")
	ErrCorrupt   = errors.New("corrupt image")
	ErrTooLarge  = errors.New("image too large")
)

// Reason codes, as they appear in clean reports.
const (
	ReasonEmpty    = "empty"
	ReasonNotImage = "not_image"
	ReasonTrunc    = "truncated"
	ReasonCorrupt  = "corrupt"
	ReasonTooLarge = "too_large"
	ReasonOther    = "error"
)

// Reason returns the report code for a decode error.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrEmpty):
		return ReasonEmpty
	case errors.Is(err, ErrNotImage):
		return ReasonNotImage
	case errors.Is(err, ErrTruncated):
		return ReasonTrunc
	case errors.Is(err, ErrCorrupt):
		return ReasonCorrupt
	case errors.Is(err, ErrTooLarge), errors.Is(err, blob.ErrTooLarge):
		return ReasonTooLarge
	}
	return ReasonOther
}

// Config is what the header of an encoded image says.
type Config struct {
	Format string `json:"format"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// tensorMagic starts every tensor blob; recognising it turns a confusing
// "unknown format" into advice about stage order.
const tensorMagic = "MYRT"

// DecodeConfig reads only the header of data and checks it against lim. A
// file claiming more pixels than allowed fails here, having allocated
// almost nothing.
func DecodeConfig(data []byte, lim Limits) (Config, error) {
	if len(data) == 0 {
		return Config{}, fmt.Errorf("decode: %w: 0 bytes", ErrEmpty)
	}
	if int64(len(data)) > lim.maxBytes() {
		return Config{}, fmt.Errorf("decode: %w: %d bytes, limit %d", ErrTooLarge, len(data), lim.maxBytes())
	}
	cfg, format, err := safeDecodeConfig(data)
	if err != nil {
		return Config{}, classify(format, data, err)
	}
	c := Config{Format: format, Width: cfg.Width, Height: cfg.Height}
	if c.Width <= 0 || c.Height <= 0 {
		return c, fmt.Errorf("decode: %w: %s header says %d×%d", ErrCorrupt, format, c.Width, c.Height)
	}
	if px := int64(c.Width) * int64(c.Height); px > lim.maxPixels() {
		return c, fmt.Errorf("decode: %w: %s header claims %d×%d = %d pixels, limit %d",
			ErrTooLarge, strings.ToUpper(format), c.Width, c.Height, px, lim.maxPixels())
	}
	return c, nil
}

// Decode checks the header against lim and only then decodes the pixels.
// Every failure wraps one of the Err* reasons above with a message saying
// what was wrong.
func Decode(data []byte, lim Limits) (image.Image, Config, error) {
	c, err := DecodeConfig(data, lim)
	if err != nil {
		return nil, c, err
	}
	img, format, err := safeDecode(data)
	if err != nil {
		return nil, c, classify(format, data, err)
	}
	// A decoder must not return more pixels than its header announced, but
	// the bound above is only as good as that promise: check it.
	if b := img.Bounds(); b.Dx() != c.Width || b.Dy() != c.Height {
		return nil, c, fmt.Errorf("decode: %w: %s header says %d×%d but pixels are %d×%d", ErrCorrupt, format, c.Width, c.Height, b.Dx(), b.Dy())
	}
	return img, c, nil
}

// ReadBlob fetches an encoded image, refusing more than lim's MaxBytes
// without reading past it.
func ReadBlob(ctx context.Context, s blob.Store, ref blob.Ref, lim Limits) ([]byte, error) {
	data, err := blob.Get(ctx, s, ref, lim.maxBytes())
	if err != nil {
		if errors.Is(err, blob.ErrTooLarge) {
			return nil, fmt.Errorf("read %s: %w: more than %d bytes", ref, ErrTooLarge, lim.maxBytes())
		}
		return nil, fmt.Errorf("read %s: %w", ref, err)
	}
	return data, nil
}

// safeDecodeConfig and safeDecode turn a decoder panic on hostile input
// into ErrCorrupt: one bad file must fail its own microtask, not the worker.
func safeDecodeConfig(data []byte) (cfg image.Config, format string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: decoder panicked reading the header: %v", ErrCorrupt, r)
		}
	}()
	return image.DecodeConfig(bytes.NewReader(data))
}

func safeDecode(data []byte) (img image.Image, format string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: decoder panicked: %v", ErrCorrupt, r)
		}
	}()
	return image.Decode(bytes.NewReader(data))
}

func classify(format string, data []byte, err error) error {
	switch {
	case errors.Is(err, ErrCorrupt):
		return fmt.Errorf("decode: %w", err)
	case errors.Is(err, image.ErrFormat):
		if bytes.HasPrefix(data, []byte(tensorMagic)) {
			return fmt.Errorf("decode: %w: blob is a myriad tensor, not an encoded image (run image stages before converting to tensors)", ErrNotImage)
		}
		return fmt.Errorf("decode: %w: unknown format, file starts with %q", ErrNotImage, head(data))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), truncationMessage(err):
		return fmt.Errorf("decode: %w: %s data ends early after %d bytes", ErrTruncated, format, len(data))
	}
	return fmt.Errorf("decode: %w: %s: %v", ErrCorrupt, format, err)
}

// truncationMessage recognises decoders' own words for data that stops
// short; several report it as a format error string rather than wrapping
// io.ErrUnexpectedEOF.
func truncationMessage(err error) bool {
	msg := err.Error()
	for _, m := range []string{"unexpected EOF", "short Huffman data", "not enough pixel data", "not enough image data"} {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// head shows the first bytes of a file, enough to see that a ".png" is
// really HTML or text.
func head(data []byte) string {
	if len(data) > 16 {
		data = data[:16]
	}
	return string(data)
}
