package imgproc

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand/v2"

	"github.com/disintegration/imaging"
)

// filters maps interpolation names to imaging's resampling filters. Linear
// is a triangle filter whose support widens when shrinking, which is what
// PIL's BILINEAR (and so torchvision's Resize on PIL images) does; it
// antialiases rather than skipping pixels.
var filters = map[string]imaging.ResampleFilter{
	"":         imaging.Linear,
	"bilinear": imaging.Linear,
	"bicubic":  imaging.CatmullRom, // PIL BICUBIC is Keys' cubic with a = -0.5, i.e. Catmull-Rom
	"lanczos":  imaging.Lanczos,
	"nearest":  imaging.NearestNeighbor,
	"box":      imaging.Box,
}

// frame is the image between steps plus how many channels it stands for
// (1 after grayscale(1): R = G = B). src is the decoded image until a step
// needs NRGBA pixels; resizing reads it directly when it is opaque, which
// saves converting a whole large photo only to shrink it (14 % of the time
// of a 500×375 JPEG's pipeline).
type frame struct {
	src      image.Image
	img      *image.NRGBA
	channels int
}

// rgb returns the frame's pixels as opaque NRGBA, converting on first use.
func (f *frame) rgb() *image.NRGBA {
	if f.img == nil {
		f.img = ToRGB(f.src)
		f.src = nil
	}
	return f.img
}

// opaqueSrc returns the decoded image if it can be resampled as it is (no
// alpha to drop), else nil.
func (f *frame) opaqueSrc() image.Image {
	if f.img != nil {
		return f.img
	}
	if o, ok := f.src.(interface{ Opaque() bool }); ok && o.Opaque() {
		return f.src
	}
	return nil
}

func (f *frame) bounds() image.Rectangle {
	if f.img != nil {
		return f.img.Bounds()
	}
	return f.src.Bounds()
}

// ToRGB converts any decoded image to an opaque NRGBA image. Like PIL's
// convert("RGB"), which torchvision's ImageFolder loader applies, alpha is
// dropped (not composited): colour values are kept as they are.
func ToRGB(img image.Image) *image.NRGBA {
	n := imaging.Clone(img)
	if !n.Opaque() {
		for i := 3; i < len(n.Pix); i += 4 {
			n.Pix[i] = 0xff
		}
	}
	return n
}

// apply runs one step. rng is used only by random steps, each drawing a
// fixed sequence so a seed reproduces a result whatever the image.
func apply(f frame, s Step, rng *rand.Rand, lim Limits) (frame, error) {
	b := f.bounds()
	w, h := b.Dx(), b.Dy()
	switch s.Op {
	case OpResize:
		tw, th := resizeTarget(w, h, s.Size)
		if err := checkSize(tw, th, lim); err != nil {
			return f, err
		}
		src := f.opaqueSrc()
		if src == nil {
			src = f.rgb()
		}
		f.img, f.src = resize(src, tw, th, s.Interpolation), nil
	case OpCenterCrop:
		th, tw := hw(s.Size)
		f.img = centerCrop(f.rgb(), tw, th)
	case OpGrayscale:
		f.img = imaging.Grayscale(f.rgb())
		f.channels = s.Channels
	case OpRandomCrop:
		th, tw := hw(s.Size)
		img := f.rgb()
		if s.Padding > 0 {
			img = pad(img, s.Padding, s.Padding, s.Padding, s.Padding)
		}
		// Smaller than the crop: pad evenly first (torchvision would need
		// pad_if_needed=True; failing the item would be less useful).
		img = padTo(img, tw, th)
		ib := img.Bounds()
		// torch.randint(0, h - th + 1) for top, then left.
		top := rng.IntN(ib.Dy() - th + 1)
		left := rng.IntN(ib.Dx() - tw + 1)
		f.img = imaging.Crop(img, image.Rect(left, top, left+tw, top+th))
	case OpRandomResizedCrop:
		th, tw := hw(s.Size)
		scale := rangeOr(s.Scale, 0.08, 1)
		ratio := rangeOr(s.Ratio, 3.0/4, 4.0/3)
		r := resizedCropParams(rng, w, h, scale, ratio)
		f.img = resize(imaging.Crop(f.rgb(), r), tw, th, s.Interpolation)
	case OpHFlip:
		if rng.Float64() < prob(s.P) {
			f.img = imaging.FlipH(f.rgb())
		}
	case OpVFlip:
		if rng.Float64() < prob(s.P) {
			f.img = imaging.FlipV(f.rgb())
		}
	case OpRotate:
		angle := uniform(rng, s.Degrees[0], s.Degrees[1])
		// imaging.Rotate grows the canvas to hold the rotated image;
		// cropping the centre back to w×h gives torchvision's
		// RandomRotation(expand=False): same size, corners filled black.
		rot := imaging.Rotate(f.rgb(), angle, color.Black)
		f.img = centerCrop(rot, w, h)
	case OpScale:
		// RandomAffine(scale=...) without rotation or shear: zoom about the
		// centre and keep the size, cropping or padding with black.
		k := uniform(rng, s.Scale[0], s.Scale[1])
		sw, sh := max(1, int(math.Round(float64(w)*k))), max(1, int(math.Round(float64(h)*k)))
		if err := checkSize(sw, sh, lim); err != nil {
			return f, err
		}
		f.img = centerCrop(resize(f.rgb(), sw, sh, s.Interpolation), w, h)
	case OpBrightness:
		k := uniform(rng, s.Factor[0], s.Factor[1])
		f.img = brightness(f.rgb(), k)
	default:
		return f, fmt.Errorf("unknown op %q", s.Op)
	}
	return f, nil
}

// resizeTarget follows torchvision's _compute_resized_output_size: with
// one size the shorter edge becomes s and the longer one int(s*long/short),
// truncated.
func resizeTarget(w, h int, size []int) (int, int) {
	if len(size) == 2 {
		return size[1], size[0]
	}
	s := size[0]
	if w <= h {
		return s, int(float64(s) * float64(h) / float64(w))
	}
	return int(float64(s) * float64(w) / float64(h)), s
}

func checkSize(w, h int, lim Limits) error {
	if w < 1 || h < 1 || int64(w)*int64(h) > lim.maxPixels() {
		return fmt.Errorf("transform: %w: result would be %d×%d, limit %d pixels", ErrTooLarge, w, h, lim.maxPixels())
	}
	return nil
}

func resize(img image.Image, w, h int, interp string) *image.NRGBA {
	if b := img.Bounds(); b.Dx() == w && b.Dy() == h {
		if n, ok := img.(*image.NRGBA); ok {
			return n
		}
		return ToRGB(img)
	}
	return imaging.Resize(img, w, h, filters[interp])
}

// hw returns (height, width) from a [s] or [h, w] size.
func hw(size []int) (int, int) {
	if len(size) == 1 {
		return size[0], size[0]
	}
	return size[0], size[1]
}

// centerCrop follows torchvision's center_crop: pad with black if the image
// is smaller, then take the box at int(round((h - th) / 2)) — Python's
// round, which rounds halves to even.
func centerCrop(img *image.NRGBA, tw, th int) *image.NRGBA {
	img = padTo(img, tw, th)
	b := img.Bounds()
	top := int(math.RoundToEven(float64(b.Dy()-th) / 2))
	left := int(math.RoundToEven(float64(b.Dx()-tw) / 2))
	if left == 0 && top == 0 && b.Dx() == tw && b.Dy() == th {
		return img
	}
	return imaging.Crop(img, image.Rect(b.Min.X+left, b.Min.Y+top, b.Min.X+left+tw, b.Min.Y+top+th))
}

// padTo pads img with black to at least tw×th, splitting the padding as
// torchvision's center_crop does (the extra pixel goes right/bottom).
func padTo(img *image.NRGBA, tw, th int) *image.NRGBA {
	b := img.Bounds()
	if b.Dx() >= tw && b.Dy() >= th {
		return img
	}
	dw, dh := max(0, tw-b.Dx()), max(0, th-b.Dy())
	return pad(img, dw/2, dh/2, (dw+1)/2, (dh+1)/2)
}

func pad(img *image.NRGBA, left, top, right, bottom int) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx()+left+right, b.Dy()+top+bottom))
	draw.Draw(out, out.Bounds(), image.NewUniform(color.NRGBA{A: 0xff}), image.Point{}, draw.Src)
	draw.Draw(out, image.Rect(left, top, left+b.Dx(), top+b.Dy()), img, b.Min, draw.Src)
	return out
}

// resizedCropParams is torchvision's RandomResizedCrop.get_params: up to
// ten tries at a box of random area and log-uniform aspect ratio, else the
// largest centred box within the ratio range.
func resizedCropParams(rng *rand.Rand, w, h int, scale, ratio [2]float64) image.Rectangle {
	area := float64(w * h)
	logLo, logHi := math.Log(ratio[0]), math.Log(ratio[1])
	for range 10 {
		target := area * uniform(rng, scale[0], scale[1])
		ar := math.Exp(uniform(rng, logLo, logHi))
		cw := int(math.Round(math.Sqrt(target * ar)))
		ch := int(math.Round(math.Sqrt(target / ar)))
		if 0 < cw && cw <= w && 0 < ch && ch <= h {
			top := rng.IntN(h - ch + 1)
			left := rng.IntN(w - cw + 1)
			return image.Rect(left, top, left+cw, top+ch)
		}
	}
	inRatio := float64(w) / float64(h)
	cw, ch := w, h
	if inRatio < ratio[0] {
		ch = int(math.Round(float64(w) / ratio[0]))
	} else if inRatio > ratio[1] {
		cw = int(math.Round(float64(h) * ratio[1]))
	}
	top, left := (h-ch)/2, (w-cw)/2
	return image.Rect(left, top, left+cw, top+ch)
}

// brightness multiplies every channel by k and clips, as PIL's
// ImageEnhance.Brightness (blend with black) and torchvision's
// adjust_brightness do.
func brightness(img *image.NRGBA, k float64) *image.NRGBA {
	var lut [256]uint8
	for i := range lut {
		lut[i] = uint8(min(255, math.Round(float64(i)*k)))
	}
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := range b.Dy() {
		src := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):][:4*b.Dx()]
		dst := out.Pix[out.PixOffset(0, y):][:4*b.Dx()]
		for i := 0; i < len(src); i += 4 {
			dst[i], dst[i+1], dst[i+2], dst[i+3] = lut[src[i]], lut[src[i+1]], lut[src[i+2]], src[i+3]
		}
	}
	return out
}

func uniform(rng *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }

func rangeOr(r []float64, lo, hi float64) [2]float64 {
	if len(r) == 2 {
		return [2]float64{r[0], r[1]}
	}
	return [2]float64{lo, hi}
}

func prob(p *float64) float64 {
	if p == nil {
		return 0.5
	}
	return *p
}
