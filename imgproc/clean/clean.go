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
// with default limits, exact duplicates and near duplicates at distance 0
// (identical perceptual hashes).
type Config struct {
	// Limits bound decoding (see imgproc.Limits).
	Limits imgproc.Limits `json:"limits,omitzero"`
	// MinWidth, MinHeight, MaxWidth, MaxHeight bound the image size in
	// pixels; 0 means no bound.
	MinWidth  int `json:"min_width,omitempty"`
	MinHeight int `json:"min_height,omitempty"`
	MaxWidth  int `json:"max_width,omitempty"`
	MaxHeight int `json:"max_height,omitempty"`
	// NearDistance is the largest Hamming distance between perceptual
	// hashes at which two images count as near duplicates (0..16); -1
	// turns near-duplicate detection off. 4–8 suits photos; small
	// monochrome images such as MNIST digits need 0, as distinct digits of
	// one class often hash within a few bits of each other.
	NearDistance int `json:"near_distance,omitempty"`
	// Hash is "phash" (default) or "dhash".
	Hash string `json:"hash,omitempty"`
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
	if c.NearDistance < -1 || c.NearDistance > MaxNearDistance {
		errs = append(errs, fmt.Errorf("near_distance: must be -1 (off) or 0..%d, got %d", MaxNearDistance, c.NearDistance))
	}
	if c.Hash != "" && c.Hash != HashPHash && c.Hash != HashDHash {
		errs = append(errs, fmt.Errorf("hash: unknown %q (want %q or %q)", c.Hash, HashPHash, HashDHash))
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
	if cfg.NearDistance >= 0 {
		if cfg.Hash == HashDHash {
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
