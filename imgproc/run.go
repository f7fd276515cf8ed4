package imgproc

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"image"
	"math/rand/v2"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/tensor"
)

// Seed derives the random seed for one (stage, item, variant) from the
// job's seed. Depending only on these — not on which worker runs the item
// or in what order — makes a run reproducible under any schedule.
func Seed(jobSeed uint64, stage, itemID string, variant int) uint64 {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], jobSeed)
	h.Write([]byte("myriad/imgproc/seed/v1\x00"))
	h.Write(b[:])
	h.Write([]byte(stage))
	h.Write([]byte{0})
	h.Write([]byte(itemID))
	h.Write([]byte{0})
	binary.LittleEndian.PutUint64(b[:], uint64(variant))
	h.Write(b[:])
	return binary.LittleEndian.Uint64(h.Sum(nil))
}

// NewRand returns the generator a pipeline run draws from.
func NewRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Result is a pipeline's output before it is stored.
type Result struct {
	Image    *image.NRGBA   // the transformed image
	Channels int            // 1 or 3
	Tensor   *tensor.Tensor // set when the output format is tensor
}

// Apply runs p's steps on a decoded image and builds the output. p must be
// valid. rng may be nil for a pipeline without random steps.
func (p *Pipeline) Apply(img image.Image, rng *rand.Rand) (*Result, error) {
	if rng == nil {
		if p.Random() {
			return nil, fmt.Errorf("apply pipeline: random steps need a random source")
		}
	}
	f := frame{src: img, channels: 3}
	for i, s := range p.Steps {
		var err error
		if f, err = apply(f, s, rng, p.Limits); err != nil {
			return nil, fmt.Errorf("steps[%d] (%s): %w", i, s.Op, err)
		}
	}
	res := &Result{Image: f.rgb(), Channels: f.channels}
	if p.Output.Format == "" || p.Output.Format == FormatTensor {
		t, err := ToTensor(f.img, f.channels, p.Output.Mean, p.Output.Std)
		if err != nil {
			return nil, err
		}
		res.Tensor = t
	}
	return res, nil
}

// encode serialises a result for the blob store.
func (p *Pipeline) encode(r *Result) (data []byte, format string, shape []int, err error) {
	b := r.Image.Bounds()
	shape = []int{r.Channels, b.Dy(), b.Dx()}
	if r.Tensor != nil {
		data, err = r.Tensor.Marshal()
		return data, FormatTensor, shape, err
	}
	data, err = encodePNG(frame{img: r.Image, channels: r.Channels})
	return data, FormatPNG, shape, err
}

// load fetches and decodes an item's image within p's limits.
func (p *Pipeline) load(ctx context.Context, s blob.Store, in Item) (image.Image, error) {
	data, err := ReadBlob(ctx, s, in.Blob, p.Limits)
	if err != nil {
		return nil, err
	}
	img, _, err := Decode(data, p.Limits)
	return img, err
}

// Preprocess is the preprocess operator for one item: fetch and decode its
// image, apply p (random steps seeded by Seed(jobSeed, stage, id, 0)),
// store the output and return the item pointing at it. The id and label
// carry over. Errors name the item and wrap a decode reason (see Reason)
// where the input was at fault.
func Preprocess(ctx context.Context, s blob.Store, in Item, p *Pipeline, stage string, jobSeed uint64) (Item, error) {
	if err := p.Validate(); err != nil {
		return Item{}, err
	}
	img, err := p.load(ctx, s, in)
	if err != nil {
		return Item{}, fmt.Errorf("preprocess %s: %w", in.ID, err)
	}
	out, err := p.run(ctx, s, img, in, NewRand(Seed(jobSeed, stage, in.ID, 0)))
	if err != nil {
		return Item{}, fmt.Errorf("preprocess %s: %w", in.ID, err)
	}
	return out, nil
}

func (p *Pipeline) run(ctx context.Context, s blob.Store, img image.Image, in Item, rng *rand.Rand) (Item, error) {
	res, err := p.Apply(img, rng)
	if err != nil {
		return Item{}, err
	}
	data, format, shape, err := p.encode(res)
	if err != nil {
		return Item{}, err
	}
	ref, err := blob.PutBytes(ctx, s, data)
	if err != nil {
		return Item{}, fmt.Errorf("store output: %w", err)
	}
	out := in
	out.Blob, out.Format, out.Shape = ref, format, shape
	return out, nil
}
