package dataset

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/myriadhq/myriad/ml"
)

// Split names one half of a train/test dataset.
type Split string

const (
	Train Split = "train"
	Test  Split = "test"
)

// fileNames returns the standard IDX file names of a split.
func fileNames(s Split) (images, labels string, err error) {
	switch s {
	case Train:
		return "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", nil
	case Test:
		return "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", nil
	}
	return "", "", fmt.Errorf("dataset: unknown split %q (want train or test)", s)
}

// LoadIDXPair reads an images file [n, rows, cols] and a labels file [n]
// into a dataset of 1×rows×cols items normalised by pre, with classes
// named by the label digits ("0".."9") or, if names is given, by names.
func LoadIDXPair(imagesPath, labelsPath string, pre ml.Preprocess, names []string) (*ml.Dataset, error) {
	im, err := ReadIDXFile(imagesPath)
	if err != nil {
		return nil, err
	}
	lb, err := ReadIDXFile(labelsPath)
	if err != nil {
		return nil, err
	}
	if len(im.Dims) != 3 {
		return nil, fmt.Errorf("load %s: %w: images have dims %v (want [n, rows, cols])", imagesPath, ErrFormat, im.Dims)
	}
	if len(lb.Dims) != 1 || lb.Dims[0] != im.Dims[0] {
		return nil, fmt.Errorf("load %s: %w: labels have dims %v for %d images", labelsPath, ErrFormat, lb.Dims, im.Dims[0])
	}
	shape := []int{1, im.Dims[1], im.Dims[2]}
	pre.Shape = shape
	pre.Mean, pre.Std = slices.Clone(pre.Mean), slices.Clone(pre.Std)
	x, err := pre.ApplyUint8(im.Data)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", imagesPath, err)
	}
	if names == nil {
		maxLabel := 0
		for _, y := range lb.Data {
			maxLabel = max(maxLabel, int(y))
		}
		for c := 0; c <= maxLabel; c++ {
			names = append(names, fmt.Sprint(c))
		}
	}
	y := make([]int, len(lb.Data))
	for i, v := range lb.Data {
		if int(v) >= len(names) {
			return nil, fmt.Errorf("load %s: %w: item %d: label %d is outside the %d class names", labelsPath, ml.ErrLabels, i, v, len(names))
		}
		y[i] = int(v)
	}
	d := &ml.Dataset{Shape: shape, X: x, Y: y, Classes: names, Preprocess: &pre}
	return d, nil
}

// MNIST's and Fashion-MNIST's usual normalisation: pixel/255, then the
// training set's mean and standard deviation.
var (
	MNISTPreprocess   = ml.Preprocess{Scale: 1.0 / 255, Mean: []float64{0.1307}, Std: []float64{0.3081}}
	FashionPreprocess = ml.Preprocess{Scale: 1.0 / 255, Mean: []float64{0.2860}, Std: []float64{0.3530}}
)

// MNISTClasses are MNIST's class names, in label order.
var MNISTClasses = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// FashionClasses are Fashion-MNIST's class names, in label order.
var FashionClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// LoadMNIST loads a split of MNIST from the GoMNIST module (see MNISTDir).
func LoadMNIST(s Split) (*ml.Dataset, error) {
	dir, err := MNISTDir()
	if err != nil {
		return nil, err
	}
	return loadDir(dir, s, MNISTPreprocess, MNISTClasses)
}

// LoadFashionMNIST loads a split of Fashion-MNIST from Debian's package
// (see FashionMNISTDir).
func LoadFashionMNIST(s Split) (*ml.Dataset, error) {
	dir, err := FashionMNISTDir()
	if err != nil {
		return nil, err
	}
	return loadDir(dir, s, FashionPreprocess, FashionClasses)
}

func loadDir(dir string, s Split, pre ml.Preprocess, names []string) (*ml.Dataset, error) {
	im, lb, err := fileNames(s)
	if err != nil {
		return nil, err
	}
	return LoadIDXPair(filepath.Join(dir, im), filepath.Join(dir, lb), pre, names)
}

// LoadDir loads the train and test splits from a folder holding the four
// standard IDX files (MNIST's names), scaled to [0, 1] and not otherwise
// normalised, classes named by their label numbers.
func LoadDir(dir string) (train, test *ml.Dataset, err error) {
	if _, err := checkDir(dir, dir, ""); err != nil {
		return nil, nil, err
	}
	pre := ml.Preprocess{Scale: 1.0 / 255}
	if train, err = loadDir(dir, Train, pre, nil); err != nil {
		return nil, nil, err
	}
	if test, err = loadDir(dir, Test, pre, train.Classes); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}
