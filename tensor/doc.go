// Package tensor holds the on-disk format myriad uses for dense numeric
// arrays: preprocessed images, batches and model weights are all stored as
// tensors in the blob store, so a trainer reads what a preprocessing
// microtask wrote without any conversion.
//
// # Format (version 1)
//
// All integers are little-endian.
//
//	offset  size       field
//	0       4          magic "MYRT"
//	4       1          version (1)
//	5       1          dtype: 1 = float32, 2 = uint8
//	6       1          ndim (1..8)
//	7       1          reserved, 0
//	8       4*ndim     dims, uint32 each, outermost first
//	...     n*size     elements in row-major (C) order
//
// An image tensor has shape [C, H, W] (channels first, as PyTorch's
// ToTensor produces), values float32, normalised as the stage that wrote it
// says. Readers must reject a header whose element count does not match
// the bytes that follow.
package tensor
