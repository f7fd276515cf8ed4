package imgproc_test

import (
	"errors"
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/myriadhq/myriad/imgproc"
)

// pilSource is the image the files in testdata/pil were made from with
// Pillow (see testdata/README.md).
func pilSource() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(x * 7 % 256), G: uint8(y * 11 % 256), B: uint8(x * y % 256), A: 255})
		}
	}
	return img
}

func apply(t *testing.T, p imgproc.Pipeline, img image.Image, seed uint64) *imgproc.Result {
	t.Helper()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	res, err := p.Apply(img, imgproc.NewRand(seed))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// maxDiff compares an NRGBA result with a decoded reference, channel by
// channel.
func maxDiff(t *testing.T, got *image.NRGBA, want image.Image) int {
	t.Helper()
	if got.Bounds().Size() != want.Bounds().Size() {
		t.Fatalf("size %v, want %v", got.Bounds().Size(), want.Bounds().Size())
	}
	worst := 0
	wb := want.Bounds()
	for y := range wb.Dy() {
		for x := range wb.Dx() {
			g := got.NRGBAAt(x, y)
			w := color.NRGBAModel.Convert(want.At(wb.Min.X+x, wb.Min.Y+y)).(color.NRGBA)
			for _, d := range []int{int(g.R) - int(w.R), int(g.G) - int(w.G), int(g.B) - int(w.B)} {
				worst = max(worst, abs(d))
			}
		}
	}
	return worst
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Resizing matches Pillow (and so torchvision on PIL images) to within a
// level (measured: 0 for bilinear down, 1 for bicubic and upscaling), the
// difference being 8-bit rounding between the two passes.
func TestResizeMatchesPillow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file   string
		size   []int
		interp string
		tol    int
	}{
		{"pil/resize-bilinear-20x15.png", []int{15, 20}, "bilinear", 1},
		{"pil/resize-bicubic-20x15.png", []int{15, 20}, "bicubic", 1},
		{"pil/upsize-bilinear-150x100.png", []int{100, 150}, "", 1},
	} {
		want, _, err := imgproc.Decode(readTestdata(t, tc.file), imgproc.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		res := apply(t, imgproc.Pipeline{Steps: []imgproc.Step{{Op: imgproc.OpResize, Size: tc.size, Interpolation: tc.interp}}, Output: imgproc.Output{Format: "png"}}, pilSource(), 0)
		d := maxDiff(t, res.Image, want)
		t.Logf("%s: max difference from Pillow %d", tc.file, d)
		if d > tc.tol {
			t.Errorf("%s: differs from Pillow by up to %d levels, want <= %d", tc.file, d, tc.tol)
		}
	}
	want, _, _ := imgproc.Decode(readTestdata(t, "pil/gray.png"), imgproc.Limits{})
	res := apply(t, imgproc.Pipeline{Steps: []imgproc.Step{{Op: imgproc.OpGrayscale, Channels: 1}}, Output: imgproc.Output{Format: "png"}}, pilSource(), 0)
	if d := maxDiff(t, res.Image, want); d > 1 {
		t.Errorf("grayscale differs from Pillow's L by up to %d levels, want <= 1", d)
	}
}

func TestResizeShorterEdge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ w, h, s, wantW, wantH int }{
		{640, 480, 224, 298, 224}, // int(224*640/480) = int(298.67)
		{480, 640, 224, 224, 298},
		{100, 100, 28, 28, 28},
		{30, 20, 60, 90, 60}, // upscaling too
	} {
		res := apply(t, imgproc.Pipeline{Steps: []imgproc.Step{{Op: imgproc.OpResize, Size: []int{tc.s}}}}, gradient(tc.w, tc.h), 0)
		if got := res.Tensor.Shape; got[1] != tc.wantH || got[2] != tc.wantW {
			t.Errorf("resize %d×%d to %d: shape %v, want [3 %d %d]", tc.w, tc.h, tc.s, got, tc.wantH, tc.wantW)
		}
	}
}

// CenterCrop takes the box at round-half-even((W - w) / 2), as Python's
// round does in torchvision, and pads with black when the image is small.
func TestCenterCrop(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ w, crop, wantLeft int }{
		{5, 2, 2}, // (5-2)/2 = 1.5 -> 2
		{7, 2, 2}, // 2.5 -> 2
		{9, 2, 4}, // 3.5 -> 4
		{6, 2, 2},
	} {
		res := apply(t, imgproc.Pipeline{Steps: []imgproc.Step{{Op: imgproc.OpCenterCrop, Size: []int{1, tc.crop}}}}, gradient(tc.w, 1), 0)
		if got := int(res.Image.NRGBAAt(0, 0).R); got != tc.wantLeft {
			t.Errorf("center crop %d of width %d starts at x=%d, want %d", tc.crop, tc.w, got, tc.wantLeft)
		}
	}
	res := apply(t, imgproc.Pipeline{Steps: []imgproc.Step{{Op: imgproc.OpCenterCrop, Size: []int{4}}}}, gradient(2, 2), 0)
	if b := res.Image.Bounds(); b.Dx() != 4 || b.Dy() != 4 {
		t.Fatalf("center crop 4 of a 2×2 image is %v, want 4×4", b)
	}
	if c := res.Image.NRGBAAt(0, 0); c != (color.NRGBA{A: 255}) {
		t.Errorf("padding pixel = %v, want opaque black", c)
	}
	if c := res.Image.NRGBAAt(2, 2); c.R != 1 || c.G != 1 {
		t.Errorf("pixel (2,2) = %v, want the original (1,1)", c)
	}
}

// ToTensor + Normalize arithmetic, channel-first layout and grayscale.
func TestTensorValues(t *testing.T) {
	t.Parallel()
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	img.SetNRGBA(0, 0, color.NRGBA{R: 255, G: 0, B: 51, A: 255})
	img.SetNRGBA(1, 0, color.NRGBA{R: 0, G: 255, B: 102, A: 0}) // alpha is dropped, not composited
	res := apply(t, imgproc.Pipeline{Output: imgproc.Output{Mean: []float64{0.5, 0.5, 0}, Std: []float64{0.5, 0.5, 1}}}, img, 0)
	want := []float32{1, -1, -1, 1, 0.2, 0.4} // [C=3][H=1][W=2]
	if len(res.Tensor.F32) != len(want) {
		t.Fatalf("tensor shape %v", res.Tensor.Shape)
	}
	for i, v := range want {
		if math.Abs(float64(res.Tensor.F32[i]-v)) > 1e-6 {
			t.Errorf("element %d = %v, want %v (tensor %v)", i, res.Tensor.F32[i], v, res.Tensor.F32)
		}
	}
	gray := apply(t, imgproc.Pipeline{Steps: []imgproc.Step{{Op: imgproc.OpGrayscale, Channels: 1}}}, img, 0)
	if s := gray.Tensor.Shape; s[0] != 1 || s[1] != 1 || s[2] != 2 {
		t.Fatalf("grayscale tensor shape %v, want [1 1 2]", s)
	}
	// L = 0.299*255 + 0.114*51 = 82.05 -> 82
	if got := gray.Tensor.F32[0] * 255; math.Abs(float64(got)-82) > 1e-3 {
		t.Errorf("gray value %v, want 82", got)
	}
}

func TestRandomStepsDeterministicAndVaried(t *testing.T) {
	t.Parallel()
	p := imgproc.Pipeline{Steps: []imgproc.Step{
		{Op: imgproc.OpRandomCrop, Size: []int{16}, Padding: 2},
		{Op: imgproc.OpHFlip},
		{Op: imgproc.OpRotate, Degrees: []float64{-20, 20}},
		{Op: imgproc.OpScale, Scale: []float64{0.8, 1.2}},
		{Op: imgproc.OpBrightness, Factor: []float64{0.7, 1.3}},
	}}
	src := gradient(40, 30)
	a := apply(t, p, src, 42).Tensor.F32
	b := apply(t, p, src, 42).Tensor.F32
	if !equalF32(a, b) {
		t.Fatal("same seed gave different results")
	}
	distinct := map[float32]bool{}
	for seed := range uint64(20) {
		r := apply(t, p, src, seed)
		if s := r.Tensor.Shape; s[1] != 16 || s[2] != 16 {
			t.Fatalf("seed %d: shape %v, want [3 16 16]", seed, s)
		}
		distinct[sum(r.Tensor.F32)] = true
	}
	if len(distinct) < 15 {
		t.Fatalf("20 seeds gave only %d distinct outputs", len(distinct))
	}
}

func TestFlipsAndRotate(t *testing.T) {
	t.Parallel()
	one, zero := 1.0, 0.0
	src := gradient(5, 3)
	h := apply(t, imgproc.Pipeline{Steps: []imgproc.Step{{Op: imgproc.OpHFlip, P: &one}}}, src, 1)
	if c := h.Image.NRGBAAt(0, 0); c.R != 4 {
		t.Errorf("hflip p=1: pixel (0,0) has x=%d, want 4", c.R)
	}
	v := apply(t, imgproc.Pipeline{Steps: []imgproc.Step{{Op: imgproc.OpVFlip, P: &one}, {Op: imgproc.OpHFlip, P: &zero}}}, src, 1)
	if c := v.Image.NRGBAAt(0, 0); c.G != 2 || c.R != 0 {
		t.Errorf("vflip p=1, hflip p=0: pixel (0,0) = (%d,%d), want (0,2)", c.R, c.G)
	}
	r := apply(t, imgproc.Pipeline{Steps: []imgproc.Step{{Op: imgproc.OpRotate, Degrees: []float64{180, 180}}}}, src, 1)
	if c := r.Image.NRGBAAt(0, 0); c.R != 4 || c.G != 2 {
		t.Errorf("rotate 180: pixel (0,0) = (%d,%d), want (4,2)", c.R, c.G)
	}
	b := apply(t, imgproc.Pipeline{Steps: []imgproc.Step{{Op: imgproc.OpBrightness, Factor: []float64{2, 2}}}}, src, 1)
	if c := b.Image.NRGBAAt(4, 2); c.R != 8 || c.G != 4 || c.B != 12 {
		t.Errorf("brightness ×2: pixel (4,2) = %v, want (8,4,12)", c)
	}
	rrc := apply(t, imgproc.Pipeline{Steps: []imgproc.Step{{Op: imgproc.OpRandomResizedCrop, Size: []int{8, 12}}}}, gradient(50, 40), 3)
	if s := rrc.Tensor.Shape; s[1] != 8 || s[2] != 12 {
		t.Errorf("random_resized_crop shape %v, want [3 8 12]", s)
	}
}

// A pipeline cannot be used to allocate a huge image: resize of a long
// panorama to a large shorter edge fails with ErrTooLarge.
func TestPipelineSizeBomb(t *testing.T) {
	t.Parallel()
	p := imgproc.Pipeline{Steps: []imgproc.Step{{Op: imgproc.OpResize, Size: []int{8000}}}, Limits: imgproc.Limits{MaxPixels: 1_000_000}}
	if _, err := p.Apply(gradient(100, 1), nil); !errors.Is(err, imgproc.ErrTooLarge) {
		t.Fatal("resize to 800000×8000 succeeded, want ErrTooLarge")
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sum(a []float32) float32 {
	var s float32
	for _, v := range a {
		s += v
	}
	return s
}

// Resizing reads opaque decoded images (JPEG's YCbCr) directly; the result
// must equal converting to RGB first. Images with alpha are converted
// first, so colour under transparent pixels is kept, as PIL's
// convert("RGB") keeps it, rather than being darkened by premultiplication.
func TestResizeSourceTypes(t *testing.T) {
	t.Parallel()
	p := imgproc.Pipeline{Steps: []imgproc.Step{{Op: imgproc.OpResize, Size: []int{20}}}}
	jpg, _, err := imgproc.Decode(encode(t, "jpeg", pilSource()), imgproc.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := jpg.(*image.YCbCr); !ok {
		t.Fatalf("decoded JPEG is %T, want *image.YCbCr", jpg)
	}
	direct := apply(t, p, jpg, 0).Tensor.F32
	converted := apply(t, p, imgproc.ToRGB(jpg), 0).Tensor.F32
	if !equalF32(direct, converted) {
		t.Fatal("resizing YCbCr directly differs from resizing its RGB conversion")
	}
	translucent := image.NewNRGBA(image.Rect(0, 0, 40, 40))
	for i := 0; i < len(translucent.Pix); i += 4 {
		translucent.Pix[i], translucent.Pix[i+3] = 200, 0 // red, fully transparent
	}
	res := apply(t, p, translucent, 0)
	if c := res.Image.NRGBAAt(5, 5); c.R != 200 || c.A != 255 {
		t.Fatalf("transparent red became %v, want opaque red 200 (alpha dropped, not composited)", c)
	}
}

// Images whose bounds do not start at (0, 0) — a GIF frame, a sub-image —
// are read from their own origin.
func TestOffsetBounds(t *testing.T) {
	t.Parallel()
	full := gradient(20, 10)
	sub := full.SubImage(image.Rect(5, 3, 15, 8)).(*image.NRGBA)
	p := imgproc.Pipeline{Steps: []imgproc.Step{{Op: imgproc.OpBrightness, Factor: []float64{1, 1}}}}
	res := apply(t, p, sub, 0)
	if s := res.Tensor.Shape; s[1] != 5 || s[2] != 10 {
		t.Fatalf("shape %v, want [3 5 10]", s)
	}
	if r := res.Tensor.F32[0] * 255; math.Abs(float64(r)-5) > 1e-3 {
		t.Fatalf("first pixel R = %v, want 5 (x of the sub-image's origin)", r)
	}
	direct, err := imgproc.ToTensor(sub, 3, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g := direct.F32[5*10] * 255; math.Abs(float64(g)-3) > 1e-3 {
		t.Fatalf("ToTensor on a sub-image: first G = %v, want 3", g)
	}
}
