// Package imageops wires the image libraries (imgproc, imgproc/clean,
// imgproc/ingest, imgproc/pack) into the engine as operators: ingest,
// clean, preprocess, augment and pack. Items carry imgproc.Item JSON —
// blob refs and labels, never pixels — and the bytes live in the
// coordinator's blob store behind each worker's cache (worker.Task.Blobs).
//
// ResolveInput is the client half: it turns a job spec's image input
// (input.images, input.manifest, input.mnist, input.fashion_mnist) into
// items by storing every image in a blob store, so `myriad run` and
// `myriad submit` send refs, not megabytes. See docs/images.md.
package imageops
