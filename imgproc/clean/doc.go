// Package clean finds the items a data set is better without: files that
// do not decode (empty, not an image, truncated, corrupt), images outside
// size limits, exact duplicates (same content hash) and near duplicates
// (perceptual hashes within a Hamming distance).
//
// Near duplicates can only be found with all items in view, so cleaning is
// two operators:
//
//	Check   per item, a map microtask: decode within limits, measure, hash
//	Merge   once, a reduce over every Check result: choose what to drop
//
// Check's result is small JSON (no pixels), so Merge over 100 000 items is
// cheap; it uses multi-index hashing so near-duplicate search is not
// quadratic. Merge is deterministic whatever order the results arrive in:
// among duplicates it keeps the image with the most pixels, then the most
// bytes, then the smallest id.
package clean
