package ml

import (
	"fmt"
	"math"
	"slices"
)

// Dataset is a set of preprocessed items with labels, held in memory as
// one flat float32 slice (item-major, each item [C, H, W] row-major), the
// layout the tensor package stores and the backends consume.
type Dataset struct {
	// Shape of one item: [C, H, W].
	Shape []int
	// X holds Len()*C*H*W values.
	X []float32
	// Y holds one class index (into Classes) per item.
	Y []int
	// Classes names the classes; the network has one output per class.
	Classes []string
	// Preprocess, if set, says how X was made from raw items; a model
	// trained on the dataset records it.
	Preprocess *Preprocess
}

// Len returns the number of items.
func (d *Dataset) Len() int { return len(d.Y) }

// ItemSize returns the number of values per item.
func (d *Dataset) ItemSize() int {
	n := 1
	for _, s := range d.Shape {
		n *= s
	}
	return n
}

// Item returns the values of item i (a view, not a copy).
func (d *Dataset) Item(i int) []float32 {
	n := d.ItemSize()
	return d.X[i*n : (i+1)*n]
}

// Subset returns a new dataset holding the items at idx, in that order
// (a fold, a shard, a bootstrap sample).
func (d *Dataset) Subset(idx []int) (*Dataset, error) {
	n := d.ItemSize()
	out := &Dataset{Shape: slices.Clone(d.Shape), Classes: d.Classes, Preprocess: d.Preprocess,
		X: make([]float32, 0, len(idx)*n), Y: make([]int, 0, len(idx))}
	for _, i := range idx {
		if i < 0 || i >= d.Len() {
			return nil, fmt.Errorf("%w: subset index %d outside 0..%d", ErrData, i, d.Len()-1)
		}
		out.X = append(out.X, d.Item(i)...)
		out.Y = append(out.Y, d.Y[i])
	}
	return out, nil
}

// Validate checks that shapes and sizes agree, that every value is
// finite and every label names a class. It names the first bad item.
func (d *Dataset) Validate() error {
	if len(d.Shape) != 3 {
		return fmt.Errorf("%w: item shape %v (want [C, H, W])", ErrData, d.Shape)
	}
	for i, s := range d.Shape {
		if s <= 0 {
			return fmt.Errorf("%w: item shape %v: dim %d is not positive", ErrData, d.Shape, i)
		}
	}
	if len(d.Classes) < 2 {
		return fmt.Errorf("%w: %d classes (want at least 2)", ErrLabels, len(d.Classes))
	}
	seen := make(map[string]int, len(d.Classes))
	for i, c := range d.Classes {
		if c == "" {
			return fmt.Errorf("%w: class %d has an empty name", ErrLabels, i)
		}
		if j, dup := seen[c]; dup {
			return fmt.Errorf("%w: class %q listed twice (%d and %d)", ErrLabels, c, j, i)
		}
		seen[c] = i
	}
	n := d.ItemSize()
	if len(d.X) != d.Len()*n {
		return fmt.Errorf("%w: %d values for %d items of %v (want %d)", ErrData, len(d.X), d.Len(), d.Shape, d.Len()*n)
	}
	for i, y := range d.Y {
		if y < 0 || y >= len(d.Classes) {
			return fmt.Errorf("%w: item %d: label %d is outside the class list (%d classes)", ErrLabels, i, y, len(d.Classes))
		}
	}
	for j, v := range d.X {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w: item %d holds %v", ErrData, j/n, v)
		}
	}
	return nil
}

// ClassCounts returns how many items each class has.
func (d *Dataset) ClassCounts() []int {
	c := make([]int, len(d.Classes))
	for _, y := range d.Y {
		if y >= 0 && y < len(c) {
			c[y]++
		}
	}
	return c
}

// CheckAllClasses returns an ErrLabels error naming the first class with
// no items: a network trained without examples of a class can never
// predict it, which in a training set is nearly always a mistake.
func (d *Dataset) CheckAllClasses() error {
	for i, c := range d.ClassCounts() {
		if c == 0 {
			return fmt.Errorf("%w: class %q has no training items", ErrLabels, d.Classes[i])
		}
	}
	return nil
}

// LabelIndex maps label names to class indices, reporting the first item
// whose label is empty or not in classes. It is how items labelled by
// name (a manifest, an annotator) become a Dataset's Y.
func LabelIndex(labels, classes []string) ([]int, error) {
	idx := make(map[string]int, len(classes))
	for i, c := range classes {
		idx[c] = i
	}
	out := make([]int, len(labels))
	for i, l := range labels {
		if l == "" {
			return nil, fmt.Errorf("%w: item %d has no label", ErrLabels, i)
		}
		k, ok := idx[l]
		if !ok {
			return nil, fmt.Errorf("%w: item %d: label %q is not in the class list %v", ErrLabels, i, l, classes)
		}
		out[i] = k
	}
	return out, nil
}
