// Package ingest turns input data into job items: each input's bytes go
// into the blob store and an imgproc.Item carrying the ref, a stable id and
// the label comes out. Three sources:
//
//   - Folder: one sub-folder per class (torchvision ImageFolder's layout);
//     the label is the sub-folder's name, the id the path under the root.
//   - Manifest: a CSV (header row) or JSONL file whose rows give a path
//     relative to the manifest's folder or a blob ref, plus an optional
//     label and id.
//   - IDX: the MNIST / Fashion-MNIST format (optionally gzipped). Each
//     28×28 image is stored as an 8-bit gray PNG blob, so IDX data flows
//     through clean, preprocess and augment like any other image (a digit
//     is ~300 bytes as PNG against 784 raw). ReadIDX returns the raw uint8
//     tensor instead, for a trainer that wants it whole.
//
// Listing and loading are separate (ListFolder/ListManifest, then Load), so
// the engine can list once and load in parallel microtasks. Folder and
// Manifest do both.
//
// A bad input skips only itself, with a reason, in Result.Skipped; errors
// are returned only when the whole source is unusable (missing folder,
// malformed manifest header, store failure). Nothing outside the root is
// ever read: paths are opened through os.Root, so absolute paths, "../"
// and symbolic links leading out are refused.
package ingest
