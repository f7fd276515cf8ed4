package imgproc

import (
	"context"
	"errors"
	"fmt"

	"github.com/myriadhq/myriad/blob"
)

// MaxVariants bounds Augment.Variants so one job parameter cannot multiply
// a data set without limit by mistake.
const MaxVariants = 1000

// Augment is an augment stage's parameters: Variants outputs per input
// image, each the result of Pipeline under its own seed.
type Augment struct {
	// Variants is how many augmented copies to make of each image (1..1000).
	Variants int `json:"variants"`
	// KeepOriginal also emits the input item unchanged (id unchanged), so
	// the stage's output is the original plus its variants.
	KeepOriginal bool `json:"keep_original,omitempty"`
	// Pipeline is applied to each variant; its random steps (rotate,
	// scale, random_crop, flips, brightness) are what make variants differ.
	Pipeline Pipeline `json:"pipeline"`
}

// Validate names bad fields.
func (a *Augment) Validate() error {
	var errs []error
	if a.Variants < 1 || a.Variants > MaxVariants {
		errs = append(errs, fmt.Errorf("variants: must be in 1..%d, got %d", MaxVariants, a.Variants))
	}
	if err := a.Pipeline.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("pipeline: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid augment: %w", err)
	}
	return nil
}

// VariantID names variant k of an item.
func VariantID(itemID string, k int) string { return fmt.Sprintf("%s#aug%d", itemID, k) }

// RunAugment is the augment operator for one item: it decodes the image
// once and makes a.Variants variants, variant k seeded by
// Seed(jobSeed, stage, in.ID, k) and named VariantID(in.ID, k), with Parent
// set to in.ID and the label carried over. The result is the same on any
// worker and in any order.
func RunAugment(ctx context.Context, s blob.Store, in Item, a *Augment, stage string, jobSeed uint64) ([]Item, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	p := &a.Pipeline
	img, err := p.load(ctx, s, in)
	if err != nil {
		return nil, fmt.Errorf("augment %s: %w", in.ID, err)
	}
	var out []Item
	if a.KeepOriginal {
		out = append(out, in)
	}
	for k := range a.Variants {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("augment %s: %w", in.ID, err)
		}
		v, err := p.run(ctx, s, img, in, NewRand(Seed(jobSeed, stage, in.ID, k)))
		if err != nil {
			return nil, fmt.Errorf("augment %s variant %d: %w", in.ID, k, err)
		}
		v.ID, v.Parent = VariantID(in.ID, k), in.ID
		out = append(out, v)
	}
	return out, nil
}
