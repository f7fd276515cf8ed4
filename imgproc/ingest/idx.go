package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc"
	"github.com/myriadhq/myriad/tensor"
)

// Class names by label index.
var (
	MNISTClasses        = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	FashionMNISTClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
)

// ReadIDX reads an IDX file of unsigned bytes (type 0x08), gzipped or not,
// as a uint8 tensor: [N] for labels, [N, rows, cols] for images. Other
// element types are refused, as are headers announcing more than
// tensor.MaxElements or data that is short or too long.
func ReadIDX(r io.Reader) (*tensor.Tensor, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("read idx: gzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, fmt.Errorf("read idx: header: %w", err)
	}
	if hdr[0] != 0 || hdr[1] != 0 {
		return nil, fmt.Errorf("read idx: bad magic % x (want 00 00 <type> <dims>)", hdr)
	}
	if hdr[2] != 0x08 {
		return nil, fmt.Errorf("read idx: element type 0x%02x not supported (only unsigned byte, 0x08)", hdr[2])
	}
	ndim := int(hdr[3])
	if ndim < 1 || ndim > 4 {
		return nil, fmt.Errorf("read idx: %d dimensions (want 1..4)", ndim)
	}
	dims := make([]byte, 4*ndim)
	if _, err := io.ReadFull(br, dims); err != nil {
		return nil, fmt.Errorf("read idx: dimensions: %w", err)
	}
	shape := make([]int, ndim)
	n := 1
	for i := range shape {
		d := int(binary.BigEndian.Uint32(dims[4*i:]))
		if d == 0 {
			return nil, fmt.Errorf("read idx: dimension %d is 0", i)
		}
		shape[i] = d
		n *= d
		if n > tensor.MaxElements {
			return nil, fmt.Errorf("read idx: more than %d elements", tensor.MaxElements)
		}
	}
	t := tensor.NewUint8(shape...)
	if _, err := io.ReadFull(br, t.U8); err != nil {
		return nil, fmt.Errorf("read idx: data (%d bytes announced): %w", n, err)
	}
	if extra, _ := br.Read(make([]byte, 1)); extra > 0 {
		return nil, fmt.Errorf("read idx: data continues past the %d bytes the header announces", n)
	}
	return t, nil
}

// ReadIDXFile is ReadIDX on a file.
func ReadIDXFile(path string) (*tensor.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read idx: %w", err)
	}
	defer f.Close()
	t, err := ReadIDX(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return t, nil
}

// IDXOptions configures IDX.
type IDXOptions struct {
	// Prefix starts every id: "<prefix>/<index, 5 digits>". Default "idx".
	Prefix string `json:"prefix,omitempty"`
	// Classes names labels by index; nil means the index in decimal.
	Classes []string `json:"classes,omitempty"`
	// Start and Count select images [Start, Start+Count); Count 0 means to
	// the end. They let the engine split a 60 000-image file into
	// microtasks.
	Start int `json:"start,omitempty"`
	Count int `json:"count,omitempty"`
	// Source names the file in each item's Source ("<source>#<index>").
	Source string `json:"source,omitempty"`
}

// IDX stores images (an [N, rows, cols] tensor from ReadIDX) as gray PNG
// blobs, labelled from labels ([N], may be nil).
func IDX(ctx context.Context, s blob.Store, images, labels *tensor.Tensor, opts IDXOptions) (*Result, error) {
	if images.DType != tensor.Uint8 || len(images.Shape) != 3 {
		return nil, fmt.Errorf("ingest idx: images must be uint8 [N, rows, cols], got %s %v", images.DType, images.Shape)
	}
	n, rows, cols := images.Shape[0], images.Shape[1], images.Shape[2]
	if labels != nil && (labels.DType != tensor.Uint8 || len(labels.Shape) != 1 || labels.Shape[0] != n) {
		return nil, fmt.Errorf("ingest idx: labels must be uint8 [%d] to match the images, got %s %v", n, labels.DType, labels.Shape)
	}
	start, end := opts.Start, n
	if opts.Count > 0 {
		end = min(n, start+opts.Count)
	}
	if start < 0 || start > n || opts.Count < 0 {
		return nil, fmt.Errorf("ingest idx: start %d, count %d outside the %d images", opts.Start, opts.Count, n)
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = "idx"
	}
	res := &Result{Classes: opts.Classes}
	if opts.Classes == nil && labels != nil {
		// Decimal labels: classes "0".."max", so a label's class index is
		// its value.
		top := 0
		for _, v := range labels.U8 {
			top = max(top, int(v))
		}
		for i := 0; i <= top; i++ {
			res.Classes = append(res.Classes, strconv.Itoa(i))
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	for i := start; i < end; i++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("ingest idx: %w", err)
		}
		item := imgproc.Item{
			ID:     fmt.Sprintf("%s/%05d", prefix, i),
			Source: opts.Source + "#" + strconv.Itoa(i),
			Format: "png",
			Shape:  []int{1, rows, cols},
		}
		if labels != nil {
			li := int(labels.U8[i])
			switch {
			case opts.Classes == nil:
				item.Label = strconv.Itoa(li)
			case li < len(opts.Classes):
				item.Label = opts.Classes[li]
			default:
				res.Skipped = append(res.Skipped, Skipped{Source: item.Source, Reason: fmt.Sprintf("label %d has no class name (%d given)", li, len(opts.Classes))})
				continue
			}
		}
		img := &image.Gray{Pix: images.U8[i*rows*cols : (i+1)*rows*cols], Stride: cols, Rect: image.Rect(0, 0, cols, rows)}
		buf.Reset()
		if err := enc.Encode(&buf, img); err != nil {
			return nil, fmt.Errorf("ingest idx: encode %s: %w", item.ID, err)
		}
		ref, err := blob.PutBytes(ctx, s, buf.Bytes())
		if err != nil {
			return nil, fmt.Errorf("ingest idx: store %s: %w", item.ID, err)
		}
		item.Blob = ref
		res.Items = append(res.Items, item)
	}
	return res, nil
}

// IDXFiles reads an images file and (if labelsPath is not empty) a labels
// file and ingests them; Source defaults to the images file's name.
func IDXFiles(ctx context.Context, s blob.Store, imagesPath, labelsPath string, opts IDXOptions) (*Result, error) {
	images, err := ReadIDXFile(imagesPath)
	if err != nil {
		return nil, err
	}
	var labels *tensor.Tensor
	if labelsPath != "" {
		if labels, err = ReadIDXFile(labelsPath); err != nil {
			return nil, err
		}
	}
	if opts.Source == "" {
		opts.Source = filepath.Base(imagesPath)
	}
	return IDX(ctx, s, images, labels, opts)
}
