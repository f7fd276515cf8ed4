package clean

import (
	"math/rand/v2"
	"testing"

	"github.com/myriadhq/myriad/imgproc"
)

// The index finds exactly what a brute-force scan finds.
func TestHashIndexMatchesBruteForce(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	base := make([]uint64, 300)
	for i := range base {
		base[i] = rng.Uint64()
	}
	// Queries near stored hashes (flip a few bits) and far from them.
	var queries []uint64
	for i := range 300 {
		q := base[rng.IntN(len(base))]
		for range rng.IntN(10) {
			q ^= 1 << rng.IntN(64)
		}
		if i%3 == 0 {
			q = rng.Uint64()
		}
		queries = append(queries, q)
	}
	for _, d := range []int{0, 1, 3, 4, 7, 10, 16} {
		idx := newHashIndex(d)
		for i, h := range base {
			idx.add(h, i)
		}
		for _, q := range queries {
			wantID, wantDist, wantOK := -1, d+1, false
			for i, h := range base {
				if dist := imgproc.Hamming(q, h); dist <= d && dist < wantDist {
					wantID, wantDist, wantOK = i, dist, true
				}
			}
			id, dist, ok := idx.find(q)
			if ok != wantOK || ok && (id != wantID || dist != wantDist) {
				t.Fatalf("d=%d query %016x: index says (%d, %d, %v), brute force (%d, %d, %v)", d, q, id, dist, ok, wantID, wantDist, wantOK)
			}
		}
	}
}
