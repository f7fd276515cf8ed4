package imageops

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc"
	"github.com/myriadhq/myriad/ops"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// Operator names.
const (
	OpIngest     = "ingest"
	OpClean      = "clean"
	OpPreprocess = "preprocess"
	OpAugment    = "augment"
	OpPack       = "pack"
)

// Options configures the image operators.
type Options struct {
	// IngestRoots are the folders the ingest operator may read files
	// from (a worker reads its own disk, so this is opt-in); empty means
	// ingest accepts only items that are already blobs.
	IngestRoots []string
}

// Builtins describes the image operators.
func Builtins() []ops.Info {
	return []ops.Info{
		{Name: OpIngest, Doc: "stores image files (paths under the worker's --ingest-root) or IDX chunks as blobs; items become {id, blob, label}"},
		{Name: OpClean, Reduce: true, Doc: "drops undecodable, truncated, duplicate, near-duplicate and out-of-size images, each with its reason (results --dropped)"},
		{Name: OpPreprocess, Doc: "decode, resize, crop, grayscale, normalise: one tensor (or PNG) blob per image"},
		{Name: OpAugment, Doc: "rotate, scale, crop, flip under a seed: params.variants outputs per image"},
		{Name: OpPack, Reduce: true, Doc: "gathers tensors into one packed dataset (imgproc/pack) a trainer loads directly"},
	}
}

// Register adds the image operators to r.
func Register(r *worker.Registry, opt Options) {
	r.Handle(OpIngest, newIngest(opt))
	r.Handle(OpClean, cleanOp)
	r.Handle(OpPreprocess, preprocessOp)
	r.Handle(OpAugment, augmentOp)
	r.Handle(OpPack, packOp)
}

// imageItem reads an item's data as an imgproc.Item; the id defaults to
// the microtask item's.
func imageItem(it task.Item) (imgproc.Item, error) {
	var im imgproc.Item
	if err := json.Unmarshal(it.Data, &im); err != nil {
		return im, worker.Permanent(fmt.Errorf("item %s: want an image item {id, blob, label}: %w", it.ID, err))
	}
	if im.ID == "" {
		im.ID = it.ID
	}
	if _, err := blob.ParseRef(string(im.Blob)); err != nil {
		return im, worker.Permanent(fmt.Errorf("item %s: blob: %w", it.ID, err))
	}
	return im, nil
}

// output wraps an image item as a task item.
func output(im imgproc.Item) (task.Item, error) {
	data, err := json.Marshal(im)
	if err != nil {
		return task.Item{}, fmt.Errorf("item %s: encode: %w", im.ID, err)
	}
	return task.Item{ID: im.ID, Data: data}, nil
}

// badInput reports whether err says the image itself is at fault (so a
// retry cannot help).
func badInput(err error) bool {
	for _, e := range []error{imgproc.ErrEmpty, imgproc.ErrNotImage, imgproc.ErrTruncated, imgproc.ErrCorrupt, imgproc.ErrTooLarge, blob.ErrTooLarge} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// failOrDrop turns a per-image error into the microtask's error
// (permanent when the image is at fault) or, with drop set, into a
// dropped item carrying the reason.
func failOrDrop(in imgproc.Item, err error, drop bool) (*task.Item, error) {
	if !badInput(err) {
		return nil, err
	}
	if !drop {
		return nil, worker.Permanent(err)
	}
	out, oerr := output(in)
	if oerr != nil {
		return nil, oerr
	}
	out.Dropped = imgproc.Reason(err) + ": " + err.Error()
	return &out, nil
}
