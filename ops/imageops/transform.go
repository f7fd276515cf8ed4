package imageops

import (
	"context"
	"fmt"

	"github.com/myriadhq/myriad/imgproc"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// PreprocessParams are a preprocess stage's params: an imgproc.Pipeline
// (steps, output, limits) plus the job's seed and what to do with a bad
// image.
type PreprocessParams struct {
	imgproc.Pipeline
	// Seed seeds random steps (random_crop, flips, …) per item, so a run
	// is reproducible on any worker in any order.
	Seed uint64 `json:"seed,omitempty"`
	// DropBad turns an image that cannot be decoded into a dropped item
	// (listed with its reason by `results --dropped`) instead of a failed
	// microtask.
	DropBad bool `json:"drop_bad,omitempty"`
}

// Validate names bad fields.
func (p *PreprocessParams) Validate() error { return p.Pipeline.Validate() }

// AugmentParams are an augment stage's params: imgproc.Augment (variants,
// keep_original, pipeline) plus the seed and DropBad as for preprocess.
type AugmentParams struct {
	imgproc.Augment
	Seed    uint64 `json:"seed,omitempty"`
	DropBad bool   `json:"drop_bad,omitempty"`
}

// Validate names bad fields.
func (p *AugmentParams) Validate() error { return p.Augment.Validate() }

func preprocessOp(ctx context.Context, t *worker.Task) ([]task.Item, error) {
	var p PreprocessParams
	if err := t.DecodeParams(&p); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, worker.Permanent(fmt.Errorf("stage %s: params: %w", t.Stage, err))
	}
	out := make([]task.Item, 0, len(t.Items))
	for _, it := range t.Items {
		in, err := imageItem(it)
		if err != nil {
			return nil, err
		}
		res, err := imgproc.Preprocess(ctx, t.Blobs, in, &p.Pipeline, t.Stage, p.Seed)
		if err != nil {
			d, err := failOrDrop(in, err, p.DropBad)
			if err != nil {
				return nil, err
			}
			out = append(out, *d)
			continue
		}
		o, err := output(res)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

func augmentOp(ctx context.Context, t *worker.Task) ([]task.Item, error) {
	var p AugmentParams
	if err := t.DecodeParams(&p); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, worker.Permanent(fmt.Errorf("stage %s: params: %w", t.Stage, err))
	}
	out := make([]task.Item, 0, len(t.Items)*(p.Variants+1))
	for _, it := range t.Items {
		in, err := imageItem(it)
		if err != nil {
			return nil, err
		}
		vs, err := imgproc.RunAugment(ctx, t.Blobs, in, &p.Augment, t.Stage, p.Seed)
		if err != nil {
			d, err := failOrDrop(in, err, p.DropBad)
			if err != nil {
				return nil, err
			}
			out = append(out, *d)
			continue
		}
		for _, v := range vs {
			o, err := output(v)
			if err != nil {
				return nil, err
			}
			out = append(out, o)
		}
	}
	return out, nil
}
