package mlops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc/pack"
	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/ml/dataset"
	"github.com/myriadhq/myriad/tensor"
	"github.com/myriadhq/myriad/worker"
)

// PackedFormat is the manifest format of a packed dataset blob, as the
// image pipeline's pack operator writes it (package imgproc/pack): a JSON
// manifest (its ref is the dataset's ref) naming a float32 [N, C, H, W]
// tensor blob, with the class list, one class index per item and the
// preprocessing.
const PackedFormat = pack.Format

// cacheSize is how many full datasets a worker keeps decoded: a
// cross-validation's folds on one worker share one copy of MNIST.
const cacheSize = 2

// datasets loads and caches datasets. Cached datasets are shared and
// must not be modified; Subset copies.
type datasets struct {
	mu      sync.Mutex
	entries []dsEntry // most recently used last
	loading map[string]*dsLoad
}

type dsEntry struct {
	key string
	d   *ml.Dataset
}

type dsLoad struct {
	done chan struct{}
	d    *ml.Dataset
	err  error
}

// load returns the dataset ref names, the first Limit items of it.
func (c *datasets) load(ctx context.Context, blobs blob.Store, ref DataRef) (*ml.Dataset, error) {
	if field, msg := ref.check(); field != "" {
		return nil, worker.Permanent(fmt.Errorf("data: %s: %s", field, msg))
	}
	key := ref.Dataset + "\x00" + ref.Split
	d, err := c.full(ctx, key, func() (*ml.Dataset, error) { return loadFull(ctx, blobs, ref) })
	if err != nil {
		return nil, err
	}
	if ref.Limit > 0 && ref.Limit < d.Len() {
		idx := make([]int, ref.Limit)
		for i := range idx {
			idx[i] = i
		}
		return d.Subset(idx)
	}
	return d, nil
}

// full returns the whole dataset under key, loading it once however many
// microtasks ask at the same time.
func (c *datasets) full(ctx context.Context, key string, load func() (*ml.Dataset, error)) (*ml.Dataset, error) {
	c.mu.Lock()
	for i, e := range c.entries {
		if e.key == key {
			c.entries = append(slices.Delete(c.entries, i, i+1), e)
			c.mu.Unlock()
			return e.d, nil
		}
	}
	if l := c.loading[key]; l != nil {
		c.mu.Unlock()
		select {
		case <-l.done:
			return l.d, l.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	l := &dsLoad{done: make(chan struct{})}
	if c.loading == nil {
		c.loading = map[string]*dsLoad{}
	}
	c.loading[key] = l
	c.mu.Unlock()

	l.d, l.err = load()
	c.mu.Lock()
	delete(c.loading, key)
	if l.err == nil {
		c.entries = append(c.entries, dsEntry{key, l.d})
		if len(c.entries) > cacheSize {
			c.entries = c.entries[1:]
		}
	}
	c.mu.Unlock()
	close(l.done)
	return l.d, l.err
}

func loadFull(ctx context.Context, blobs blob.Store, ref DataRef) (*ml.Dataset, error) {
	split := dataset.Split(ref.Split)
	if split == "" {
		split = dataset.Train
	}
	switch ref.Dataset {
	case "mnist":
		d, err := dataset.LoadMNIST(split)
		if err != nil {
			return nil, fmt.Errorf("load mnist %s: %w", split, err)
		}
		return d, nil
	case "fashion-mnist", "fashion":
		d, err := dataset.LoadFashionMNIST(split)
		if err != nil {
			return nil, fmt.Errorf("load fashion-mnist %s: %w", split, err)
		}
		return d, nil
	}
	return loadPacked(ctx, blobs, blob.Ref(ref.Dataset))
}

// loadPacked reads a packed dataset: the manifest, then its tensor.
func loadPacked(ctx context.Context, blobs blob.Store, ref blob.Ref) (*ml.Dataset, error) {
	if blobs == nil {
		return nil, errors.New("load dataset: this worker has no blob store")
	}
	d, err := pack.Load(ctx, blobs, ref)
	switch {
	case errors.Is(err, pack.ErrFormat) || errors.Is(err, ml.ErrData) || errors.Is(err, ml.ErrLabels) || errors.Is(err, tensor.ErrFormat):
		return nil, worker.Permanent(err)
	case err != nil:
		return nil, permanentIfMissing(err)
	}
	return d, nil
}

func permanentIfMissing(err error) error {
	if errors.Is(err, blob.ErrNotFound) || errors.Is(err, blob.ErrInvalidRef) {
		return worker.Permanent(err)
	}
	return err
}

// PackDataset writes d as a packed dataset (the pack operator's format,
// without item ids) and returns the manifest's ref: how tests and tools
// make a dataset blob from an ml.Dataset.
func PackDataset(ctx context.Context, blobs blob.Store, d *ml.Dataset) (blob.Ref, error) {
	x := &tensor.Tensor{DType: tensor.Float32, Shape: append([]int{d.Len()}, d.Shape...), F32: d.X}
	var buf bytes.Buffer
	if err := tensor.Encode(&buf, x); err != nil {
		return "", fmt.Errorf("pack dataset: %w", err)
	}
	xref, err := blobs.Put(ctx, &buf)
	if err != nil {
		return "", fmt.Errorf("pack dataset: %w", err)
	}
	raw, err := json.Marshal(pack.Manifest{Format: PackedFormat, X: xref, Shape: d.Shape, Items: d.Len(), Classes: d.Classes, Y: d.Y, Preprocess: d.Preprocess})
	if err != nil {
		return "", fmt.Errorf("pack dataset: %w", err)
	}
	ref, err := blobs.Put(ctx, bytes.NewReader(raw))
	if err != nil {
		return "", fmt.Errorf("pack dataset: %w", err)
	}
	return ref, nil
}
