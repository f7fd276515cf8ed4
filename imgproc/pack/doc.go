// Package pack gathers preprocessed image tensors into one dataset a
// trainer reads directly: the pack operator's output and ml's input.
//
// # Format ("myriad/dataset/v1")
//
// A packed dataset is two blobs. The manifest (JSON, its ref is the
// dataset's ref):
//
//	{"format": "myriad/dataset/v1",
//	 "x": "sha256:…",            // tensor blob: float32 [N, C, H, W]
//	 "shape": [C, H, W],          // one item
//	 "items": N,
//	 "classes": ["0", "1", …],    // class index = position
//	 "y": [5, 0, 4, …],           // N class indices, item order
//	 "ids": ["mnist/00000", …],   // N item ids, sorted (optional for readers)
//	 "preprocess": {…}}           // optional ml.Preprocess: how X was made
//
// and X, in package tensor's format (tensor/doc.go), items in the order of
// "ids" (sorted by id, so the same items give the same bytes whatever
// order the microtasks finished in). Load reads both into an ml.Dataset.
package pack
