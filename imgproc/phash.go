package imgproc

import (
	"image"
	"math"
	"math/bits"
	"slices"

	"github.com/disintegration/imaging"
)

// Perceptual hashes: 64-bit fingerprints that stay close (in Hamming
// distance) when an image is re-encoded, resized or slightly altered, so
// near duplicates can be found without comparing pixels. They follow the
// Python imagehash package's definitions.

// DHash is the difference hash: shrink to 9×8 gray and set bit i when a
// pixel is brighter than its right neighbour. Cheap, and robust to
// re-encoding and resizing.
func DHash(img image.Image) uint64 {
	g := imaging.Grayscale(imaging.Resize(img, 9, 8, imaging.Lanczos))
	var h uint64
	for y := range 8 {
		row := g.Pix[y*g.Stride:]
		for x := range 8 {
			h <<= 1
			if row[4*x] > row[4*(x+1)] {
				h |= 1
			}
		}
	}
	return h
}

// PHash is the DCT hash: shrink to 32×32 gray, take the 8×8 lowest
// frequencies of its 2-D DCT and set a bit for each above their median.
// More robust than DHash to brightness and contrast changes.
func PHash(img image.Image) uint64 {
	const n = 32
	g := imaging.Grayscale(imaging.Resize(img, n, n, imaging.Lanczos))
	var px [n][n]float64
	for y := range n {
		for x := range n {
			px[y][x] = float64(g.Pix[y*g.Stride+4*x])
		}
	}
	// Separable DCT-II, only the 8 lowest frequencies in each direction.
	var rows [n][8]float64
	for y := range n {
		for u := range 8 {
			var s float64
			for x := range n {
				s += px[y][x] * dctCos[u][x]
			}
			rows[y][u] = s
		}
	}
	var low [64]float64
	for v := range 8 {
		for u := range 8 {
			var s float64
			for y := range n {
				s += rows[y][u] * dctCos[v][y]
			}
			low[v*8+u] = s
		}
	}
	sorted := low
	slices.Sort(sorted[:])
	median := (sorted[31] + sorted[32]) / 2
	var h uint64
	for _, c := range low {
		h <<= 1
		if c > median {
			h |= 1
		}
	}
	return h
}

// dctCos[u][x] = cos(pi/N * (x + 1/2) * u) for N = 32.
var dctCos = func() (t [8][32]float64) {
	for u := range 8 {
		for x := range 32 {
			t[u][x] = math.Cos(math.Pi / 32 * (float64(x) + 0.5) * float64(u))
		}
	}
	return t
}()

// Hamming returns the number of differing bits.
func Hamming(a, b uint64) int { return bits.OnesCount64(a ^ b) }
