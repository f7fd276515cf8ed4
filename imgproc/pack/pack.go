package pack

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc"
	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/tensor"
)

// Format names the manifest format this package writes and reads.
const Format = "myriad/dataset/v1"

// MaxManifestBytes bounds the manifest Load reads (ids and labels of a few
// million items).
const MaxManifestBytes = 256 << 20

// ErrFormat is returned (wrapped) when a blob is not a packed dataset or
// its parts disagree.
var ErrFormat = errors.New("not a packed dataset")

// ErrInput is returned (wrapped) by Build when the items themselves are at
// fault (mixed shapes, missing labels, not tensors): retrying cannot help.
var ErrInput = errors.New("cannot pack these items")

// Manifest is a packed dataset's description (see the package doc).
type Manifest struct {
	Format  string   `json:"format"`
	X       blob.Ref `json:"x"`
	Shape   []int    `json:"shape"`
	Items   int      `json:"items"`
	Classes []string `json:"classes"`
	Y       []int    `json:"y"`
	// IDs names the items (sorted); optional for readers, always written
	// by Build.
	IDs        []string       `json:"ids,omitempty"`
	Preprocess *ml.Preprocess `json:"preprocess,omitempty"`
}

// Options configures Build.
type Options struct {
	// Classes fixes the class list (class index = position); nil means the
	// distinct labels of the items, sorted (ImageFolder's order).
	Classes []string
	// Preprocess is recorded in the manifest (say how the tensors were
	// made, for a model to record); optional.
	Preprocess *ml.Preprocess
}

// Info is what Build stored: the pack operator's output item.
type Info struct {
	// Dataset is the manifest's ref; pass it to Load.
	Dataset blob.Ref `json:"dataset"`
	X       blob.Ref `json:"x"`
	Items   int      `json:"items"`
	Shape   []int    `json:"shape"`
	Classes []string `json:"classes"`
	// ClassCounts is the number of items per class, in class order.
	ClassCounts []int `json:"class_counts"`
}

// Build reads the tensor blob of every item (all float32 of one shape
// [C, H, W], each with a label), writes them as one [N, C, H, W] tensor
// in id order, then the manifest, and returns what it stored. Errors name
// the first bad item.
func Build(ctx context.Context, s blob.Store, items []imgproc.Item, opt Options) (*Info, error) {
	if len(items) == 0 {
		return nil, fmt.Errorf("pack: %w: no items", ErrInput)
	}
	items = slices.Clone(items)
	slices.SortFunc(items, func(a, b imgproc.Item) int { return cmp.Compare(a.ID, b.ID) })
	for i := 1; i < len(items); i++ {
		if items[i].ID == items[i-1].ID {
			return nil, fmt.Errorf("pack: %w: item id %q appears twice", ErrInput, items[i].ID)
		}
	}
	classes := opt.Classes
	if classes == nil {
		seen := map[string]bool{}
		for _, it := range items {
			if it.Label != "" && !seen[it.Label] {
				seen[it.Label] = true
				classes = append(classes, it.Label)
			}
		}
		slices.Sort(classes)
	}
	index := make(map[string]int, len(classes))
	for i, c := range classes {
		index[c] = i
	}
	y := make([]int, len(items))
	for i, it := range items {
		k, ok := index[it.Label]
		switch {
		case it.Label == "":
			return nil, fmt.Errorf("pack: %w: item %s has no label", ErrInput, it.ID)
		case !ok:
			return nil, fmt.Errorf("pack: %w: item %s: label %q is not in the class list %v", ErrInput, it.ID, it.Label, classes)
		}
		y[i] = k
	}
	var shape []int
	var x *tensor.Tensor
	per := 0
	ids := make([]string, len(items))
	for i, it := range items {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("pack: %w", err)
		}
		ids[i] = it.ID
		if it.Format != "" && it.Format != imgproc.FormatTensor {
			return nil, fmt.Errorf("pack: %w: item %s is a %s image, not a tensor (end the pipeline with output format tensor)", ErrInput, it.ID, it.Format)
		}
		t, err := readTensor(ctx, s, it.Blob)
		if errors.Is(err, tensor.ErrFormat) {
			return nil, fmt.Errorf("pack: %w: item %s: %w", ErrInput, it.ID, err)
		}
		if err != nil {
			return nil, fmt.Errorf("pack: item %s: %w", it.ID, err)
		}
		if t.DType != tensor.Float32 || len(t.Shape) != 3 {
			return nil, fmt.Errorf("pack: %w: item %s: tensor is %s %v, want float32 [C, H, W]", ErrInput, it.ID, t.DType, t.Shape)
		}
		if shape == nil {
			shape = slices.Clone(t.Shape)
			per = t.Len()
			if int64(per)*int64(len(items)) > tensor.MaxElements {
				return nil, fmt.Errorf("pack: %w: %d items of %v are more than a tensor holds (%d values)", ErrInput, len(items), shape, tensor.MaxElements)
			}
			x = tensor.NewFloat32(append([]int{len(items)}, shape...)...)
		} else if !slices.Equal(shape, t.Shape) {
			return nil, fmt.Errorf("pack: %w: item %s has shape %v, others %v (resize or crop to one size first)", ErrInput, it.ID, t.Shape, shape)
		}
		copy(x.F32[i*per:(i+1)*per], t.F32)
	}
	data, err := x.Marshal()
	if err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	xref, err := blob.PutBytes(ctx, s, data)
	if err != nil {
		return nil, fmt.Errorf("pack: store tensor: %w", err)
	}
	m := Manifest{Format: Format, X: xref, Shape: shape, Items: len(items), Classes: classes, Y: y, IDs: ids, Preprocess: opt.Preprocess}
	mdata, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	mref, err := blob.PutBytes(ctx, s, mdata)
	if err != nil {
		return nil, fmt.Errorf("pack: store manifest: %w", err)
	}
	counts := make([]int, len(classes))
	for _, c := range y {
		counts[c]++
	}
	return &Info{Dataset: mref, X: xref, Items: len(items), Shape: shape, Classes: classes, ClassCounts: counts}, nil
}

func readTensor(ctx context.Context, s blob.Store, ref blob.Ref) (*tensor.Tensor, error) {
	data, err := blob.Get(ctx, s, ref, 8+4*8+4*int64(tensor.MaxElements))
	if err != nil {
		return nil, err
	}
	return tensor.Unmarshal(data)
}

// ReadManifest reads and checks a packed dataset's manifest.
func ReadManifest(ctx context.Context, s blob.Store, ref blob.Ref) (*Manifest, error) {
	data, err := blob.Get(ctx, s, ref, MaxManifestBytes)
	if err != nil {
		return nil, fmt.Errorf("load dataset %s: %w", ref, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("load dataset %s: %w: %w", ref, ErrFormat, err)
	}
	switch {
	case m.Format != Format:
		return nil, fmt.Errorf("load dataset %s: %w: format %q (want %q)", ref, ErrFormat, m.Format, Format)
	case len(m.Y) != m.Items || (m.IDs != nil && len(m.IDs) != m.Items):
		return nil, fmt.Errorf("load dataset %s: %w: %d items but %d labels and %d ids", ref, ErrFormat, m.Items, len(m.Y), len(m.IDs))
	case len(m.Shape) != 3:
		return nil, fmt.Errorf("load dataset %s: %w: item shape %v (want [C, H, W])", ref, ErrFormat, m.Shape)
	}
	return &m, nil
}

// Load reads a packed dataset (the ref of its manifest, as the pack
// operator outputs in "dataset") into memory, checked with
// ml.Dataset.Validate.
func Load(ctx context.Context, s blob.Store, ref blob.Ref) (*ml.Dataset, error) {
	m, err := ReadManifest(ctx, s, ref)
	if err != nil {
		return nil, err
	}
	x, err := readTensor(ctx, s, m.X)
	if err != nil {
		return nil, fmt.Errorf("load dataset %s: tensor %s: %w", ref, m.X, err)
	}
	want := append([]int{m.Items}, m.Shape...)
	if x.DType != tensor.Float32 || !slices.Equal(x.Shape, want) {
		return nil, fmt.Errorf("load dataset %s: %w: tensor is %s %v, manifest says float32 %v", ref, ErrFormat, x.DType, x.Shape, want)
	}
	d := &ml.Dataset{Shape: slices.Clone(m.Shape), X: x.F32, Y: m.Y, Classes: m.Classes, Preprocess: m.Preprocess}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("load dataset %s: %w", ref, err)
	}
	return d, nil
}
