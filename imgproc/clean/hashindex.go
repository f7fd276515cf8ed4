package clean

import "github.com/myriadhq/myriad/imgproc"

// hashIndex finds a stored 64-bit hash within Hamming distance d of a query
// without comparing against every stored hash (multi-index hashing): split
// the bits into d+1 blocks; two hashes within distance d agree exactly on
// at least one block (pigeonhole), so only hashes sharing a block value
// with the query need checking.
type hashIndex struct {
	d      int
	shifts []uint
	masks  []uint64
	tables []map[uint64][]int32 // per block: block value -> positions in hashes
	hashes []uint64
	ids    []int
}

func newHashIndex(d int) *hashIndex {
	if d < 0 {
		return &hashIndex{d: d}
	}
	m := d + 1
	h := &hashIndex{d: d}
	start := 0
	for b := range m {
		width := 64 / m
		if b < 64%m {
			width++
		}
		h.shifts = append(h.shifts, uint(start))
		h.masks = append(h.masks, (uint64(1)<<width)-1)
		h.tables = append(h.tables, map[uint64][]int32{})
		start += width
	}
	return h
}

func (h *hashIndex) add(x uint64, id int) {
	pos := int32(len(h.hashes))
	h.hashes = append(h.hashes, x)
	h.ids = append(h.ids, id)
	for b, t := range h.tables {
		k := (x >> h.shifts[b]) & h.masks[b]
		t[k] = append(t[k], pos)
	}
}

// find returns the id of the closest stored hash within distance d (the
// earliest added on a tie), its distance, and whether there is one.
func (h *hashIndex) find(x uint64) (id, dist int, ok bool) {
	best, bestDist := int32(-1), h.d+1
	for b, t := range h.tables {
		for _, pos := range t[(x>>h.shifts[b])&h.masks[b]] {
			d := imgproc.Hamming(x, h.hashes[pos])
			if d < bestDist || d == bestDist && pos < best {
				best, bestDist = pos, d
			}
		}
	}
	if best < 0 {
		return 0, 0, false
	}
	return h.ids[best], bestDist, true
}
