package imgproc

import "github.com/myriadhq/myriad/blob"

// Item is one unit of image data flowing between stages: what ingest
// produces, clean filters, and preprocess and augment transform. It is the
// JSON a microtask carries; the bytes themselves are in the blob store.
type Item struct {
	// ID is stable across stages and runs: the path under the ingest root,
	// the manifest's id, or "<prefix>/<index>" for IDX files. Variants made
	// by augment are "<id>#aug<k>".
	ID string `json:"id"`
	// Blob holds the item's bytes: an encoded image, or a tensor (see
	// package tensor) once Format says so.
	Blob blob.Ref `json:"blob"`
	// Label is the class name, empty if unlabelled.
	Label string `json:"label,omitempty"`
	// Source says where the item came from (a path, manifest line or IDX
	// file and index), for reports.
	Source string `json:"source,omitempty"`
	// Parent is the id this item was derived from (set by augment).
	Parent string `json:"parent,omitempty"`
	// Format is the blob's encoding once a stage knows it: "png", "jpeg",
	// "gif", "webp", "bmp", "tiff" or "tensor".
	Format string `json:"format,omitempty"`
	// Shape is the tensor shape [C, H, W] when Format is "tensor", or
	// [C, H, W] of the image otherwise when known.
	Shape []int `json:"shape,omitempty"`
}
