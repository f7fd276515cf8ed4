// Package imgproc holds myriad's image operators as plain functions, one
// item at a time, so the engine can run each call as a microtask:
//
//	ingest      package ingest: folders, manifests, IDX files → Items
//	clean       package clean:  Check per item, then Merge over all
//	preprocess  Preprocess(ctx, store, item, pipeline, stage, seed)
//	augment     RunAugment(ctx, store, item, augment, stage, seed)
//
// Items (see Item) carry blob refs, never pixels.
//
// # Safety
//
// Decode refuses, with an error wrapping one of ErrEmpty, ErrNotImage,
// ErrTruncated, ErrCorrupt or ErrTooLarge, anything it should not spend
// memory on: it reads at most Limits.MaxBytes, checks the header's
// width×height against Limits.MaxPixels before decoding a single pixel (a
// 900-byte PNG claiming 50 000 × 50 000 pixels fails after allocating a
// few kilobytes), and turns a decoder panic into ErrCorrupt. Pipelines are
// bounded too: no size may exceed MaxSide and no intermediate image
// Limits.MaxPixels, so a job spec cannot exhaust a worker's memory either.
//
// # Transforms
//
// A Pipeline is a list of Steps applied in order to the image converted to
// RGB, then an Output. The semantics are torchvision's on PIL images, which
// is what a PyTorch user's transforms.Compose does:
//
//	resize [s]         shorter edge to s, longer int(s·long/short); [h, w] exact;
//	                   antialiased bilinear by default (PIL BILINEAR)
//	center_crop        top = round_half_even((H-h)/2), pads black if smaller
//	grayscale 1|3      L = 0.299 R + 0.587 G + 0.114 B
//	random_crop        top then left uniform over all positions; optional padding
//	random_resized_crop area fraction in scale, log-uniform ratio, 10 tries
//	hflip / vflip      with probability p (0.5)
//	rotate [lo, hi]    uniform angle, counter-clockwise, same size, black corners
//	                   (bilinear; torchvision's default is nearest)
//	scale [lo, hi]     zoom about the centre keeping the size
//	brightness [lo,hi] multiply by a uniform factor, clip to 255
//
// Tensor output is float32 [C, H, W] in the tensor package's format with
// x = v/255, then (x - mean[c]) / std[c] per channel when given (ToTensor +
// Normalize). The pipeline stays in 8-bit between steps as PIL does, so
// results match torchvision's to within rounding of the resampling.
//
// # Randomness
//
// Random steps draw from a PCG generator seeded by Seed(jobSeed, stage,
// itemID, variant), so an output depends only on the job's seed and the
// item — never on which worker ran it or in what order.
package imgproc
