package spec

import (
	"github.com/myriadhq/myriad/task"
)

// Defaults applied to fields a spec leaves out.
const (
	DefaultBatch   = 1
	DefaultRetries = 3
	DefaultTimeout = task.Duration(10 * 60 * 1e9)
	DefaultBackoff = task.Duration(1e9)
	DefaultWeight  = 1.0
	DefaultIDField = "id"
	// MaxRetries bounds retries so a poison microtask cannot run forever.
	MaxRetries = 100
	// MaxBatch bounds items per microtask.
	MaxBatch = 100000
)

// Job is a job spec as written by a user.
type Job struct {
	Name     string  `json:"name" yaml:"name"`
	Priority int     `json:"priority,omitempty" yaml:"priority"`
	Weight   float64 `json:"weight,omitempty" yaml:"weight"`
	Input    Input   `json:"input" yaml:"input"`
	Stages   []Stage `json:"stages" yaml:"stages"`
	// Speculate false turns off speculative copies of straggling
	// microtasks for every stage that does not say otherwise (default on;
	// see docs/reliability.md).
	Speculate *bool `json:"speculate,omitempty" yaml:"speculate"`

	src *source // where fields came from, for error messages; nil for JSON
}

// Input says where a job's items come from. Exactly one of Items, File,
// Glob, Images, Manifest, MNIST and FashionMNIST is set.
type Input struct {
	// Items lists the items inline. An object item with an "id" field (see
	// IDField) keeps that id; any other item is named by its position.
	Items []any `json:"items,omitempty" yaml:"items"`
	// File is a JSONL, CSV (with header), JSON array or text file (one item
	// per line), relative to the spec file.
	File string `json:"file,omitempty" yaml:"file"`
	// Format overrides the format guessed from File's extension:
	// jsonl, csv, json or lines.
	Format string `json:"format,omitempty" yaml:"format"`
	// Glob matches files (doublestar syntax, e.g. "imgs/**/*.png"), relative
	// to the spec file; each file becomes an item {id, path, name, dir}.
	Glob string `json:"glob,omitempty" yaml:"glob"`
	// IDField names the field of object items that holds their id.
	IDField string `json:"id_field,omitempty" yaml:"id_field"`

	// Image inputs (see docs/images.md). The client (myriad run, myriad
	// submit) reads them and stores each image in the coordinator's blob
	// store, so the job's items carry blob refs and labels, not bytes.

	// Images is a folder laid out one sub-folder per class (torchvision's
	// ImageFolder), relative to the spec file.
	Images string `json:"images,omitempty" yaml:"images"`
	// Manifest is a CSV or JSONL file of images (columns id, path, blob,
	// label), relative to the spec file.
	Manifest string `json:"manifest,omitempty" yaml:"manifest"`
	// MNIST and FashionMNIST name a split ("train" or "test") of those
	// data sets, read from the GoMNIST module and Debian's
	// dataset-fashion-mnist package.
	MNIST        string `json:"mnist,omitempty" yaml:"mnist"`
	FashionMNIST string `json:"fashion_mnist,omitempty" yaml:"fashion_mnist"`
	// Limit keeps the first Limit images of an image input (0: all).
	Limit int `json:"limit,omitempty" yaml:"limit"`
}

// ImageInput reports whether the input is one of the image forms, which
// the client ingests into the blob store before submitting.
func (in *Input) ImageInput() bool {
	return in.Images != "" || in.Manifest != "" || in.MNIST != "" || in.FashionMNIST != ""
}

// Stage is one operator applied to items.
type Stage struct {
	Name    string         `json:"name,omitempty" yaml:"name"`
	Op      string         `json:"op" yaml:"op"`
	Kind    task.StageKind `json:"kind,omitempty" yaml:"kind"`
	Params  map[string]any `json:"params,omitempty" yaml:"params"`
	Batch   int            `json:"batch,omitempty" yaml:"batch"`
	Retries *int           `json:"retries,omitempty" yaml:"retries"`
	// Timeout bounds one attempt, e.g. "30s"; default 10m.
	Timeout string `json:"timeout,omitempty" yaml:"timeout"`
	// Backoff is the first retry's delay, doubled per attempt; default 1s.
	Backoff string            `json:"backoff,omitempty" yaml:"backoff"`
	Labels  map[string]string `json:"labels,omitempty" yaml:"labels"`
	// After names the stages whose outputs feed this one; "input" is the
	// job's items. Default: the previous stage, or input for the first.
	After []string `json:"after,omitempty" yaml:"after"`
	// Speculate false turns off speculative copies of this stage's
	// straggling microtasks, e.g. for operators with side effects that
	// must not run twice at once. Default: the job's setting.
	Speculate *bool `json:"speculate,omitempty" yaml:"speculate"`
}
