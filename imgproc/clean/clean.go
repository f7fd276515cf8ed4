package clean

import (
	"context"
	"errors"
	"fmt"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc"
)

// Hash algorithms for near-duplicate detection.
const (
	HashPHash = "phash"
	HashDHash = "dhash"
)

// Reason codes beyond imgproc's decode reasons.
const (
	ReasonTooSmall      = "too_small"
	ReasonTooBig        = "too_big" // outside MaxWidth/MaxHeight; too_large is for safety limits
	ReasonDuplicate     = "duplicate"
	ReasonNearDuplicate = "near_duplicate"
)

// Config is the clean stage's parameters. The zero value checks decoding
// with default limits and exact duplicates.
type Config struct {
	// Limits bound decoding (see imgproc.Limits).
	Limits imgproc.Limits `json:"limits,omitzero"`
	// MinWidth, MinHeight, MaxWidth, MaxHeight bound the image size in
	// pixels; 0 means no bound.
	MinWidth  int `json:"min_width,omitempty"`
	MinHeight int `json:"min_height,omitempty"`
	MaxWidth  int `json:"max_width,omitempty"`
	MaxHeight int `json:"max_height,omitempty"`
	// Near turns on near-duplicate detection; nil leaves it off.
	Near *Near `json:"near,omitempty"`
}

// Near configures near-duplicate detection. Measured here (docs/images.md):
// on photos a resized, re-compressed copy is within 2 bits and distinct
// photos 22+ apart with phash, so 6 is a safe distance; on MNIST digits even
// distance 0 merges 1.5 % of distinct digits, so leave it off for small
// monochrome images.
type Near struct {
	// Hash is "phash" (default) or "dhash".
	Hash string `json:"hash,omitempty"`
	// Distance is the largest Hamming distance between hashes at which
	// two images count as near duplicates, 0..16.
	Distance int `json:"distance"`
}

// MaxNearDistance bounds NearDistance: beyond it unrelated images match.
const MaxNearDistance = 16

// Validate names bad fields.
func (c *Config) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int
	}{{"min_width", c.MinWidth}, {"min_height", c.MinHeight}, {"max_width", c.MaxWidth}, {"max_height", c.MaxHeight}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s: must not be negative, got %d", f.name, f.v))
		}
	}
	if c.MaxWidth > 0 && c.MinWidth > c.MaxWidth {
		errs = append(errs, fmt.Errorf("min_width: %d exceeds max_width %d", c.MinWidth, c.MaxWidth))
	}
	if c.MaxHeight > 0 && c.MinHeight > c.MaxHeight {
		errs = append(errs, fmt.Errorf("min_height: %d exceeds max_height %d", c.MinHeight, c.MaxHeight))
	}
	if c.Near != nil {
		if c.Near.Distance < 0 || c.Near.Distance > MaxNearDistance {
			errs = append(errs, fmt.Errorf("near.distance: must be in 0..%d, got %d", MaxNearDistance, c.Near.Distance))
		}
		if h := c.Near.Hash; h != "" && h != HashPHash && h != HashDHash {
			errs = append(errs, fmt.Errorf("near.hash: unknown %q (want %q or %q)", h, HashPHash, HashDHash))
		}
	}
	if err := c.Limits.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("limits: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid clean config: %w", err)
	}
	return nil
}

// Checked is Check's per-item result: what Merge needs, and no pixels.
type Checked struct {
	Item   imgproc.Item `json:"item"`
	Format string       `json:"format,omitempty"`
	Width  int          `json:"width,omitempty"`
	Height int          `json:"height,omitempty"`
	Bytes  int64        `json:"bytes"`
	// Hash is the perceptual hash (as a string in JSON, since 64-bit
	// integers do not survive JavaScript).
	Hash uint64 `json:"hash,string,omitempty"`
	// Reason is set when the item is rejected on its own merits: a decode
	// reason (imgproc.Reason) or too_small / too_big. Detail explains.
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Check is the per-item clean step. A bad image is not an error: it comes
// back with Reason set. Errors are for failures that say nothing about the
// image (store unreachable, blob missing, cancelled).
func Check(ctx context.Context, s blob.Store, item imgproc.Item, cfg *Config) (Checked, error) {
	if err := cfg.Validate(); err != nil {
		return Checked{}, err
	}
	c := Checked{Item: item}
	data, err := imgproc.ReadBlob(ctx, s, item.Blob, cfg.Limits)
	if err != nil {
		if errors.Is(err, imgproc.ErrTooLarge) {
			c.Reason, c.Detail = imgproc.ReasonTooLarge, err.Error()
			return c, nil
		}
		return Checked{}, fmt.Errorf("clean %s: %w", item.ID, err)
	}
	c.Bytes = int64(len(data))
	img, conf, err := imgproc.Decode(data, cfg.Limits)
	c.Format, c.Width, c.Height = conf.Format, conf.Width, conf.Height
	if err != nil {
		c.Reason, c.Detail = imgproc.Reason(err), err.Error()
		return c, nil
	}
	if reason, detail := cfg.sizeReason(c.Width, c.Height); reason != "" {
		c.Reason, c.Detail = reason, detail
		return c, nil
	}
	if cfg.Near != nil {
		if cfg.Near.Hash == HashDHash {
			c.Hash = imgproc.DHash(img)
		} else {
			c.Hash = imgproc.PHash(img)
		}
	}
	c.Item.Format = c.Format
	return c, nil
}

func (c *Config) sizeReason(w, h int) (string, string) {
	switch {
	case w < c.MinWidth || h < c.MinHeight:
		return ReasonTooSmall, fmt.Sprintf("%d×%d is below the minimum %d×%d", w, h, c.MinWidth, c.MinHeight)
	case c.MaxWidth > 0 && w > c.MaxWidth, c.MaxHeight > 0 && h > c.MaxHeight:
		return ReasonTooBig, fmt.Sprintf("%d×%d exceeds the maximum %d×%d", w, h, c.MaxWidth, c.MaxHeight)
	}
	return "", ""
}
