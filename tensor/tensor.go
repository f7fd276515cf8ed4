package tensor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// DType is the element type of a tensor.
type DType uint8

const (
	Float32 DType = 1
	Uint8   DType = 2
)

// Size returns the size of one element in bytes.
func (d DType) Size() int {
	switch d {
	case Float32:
		return 4
	case Uint8:
		return 1
	}
	return 0
}

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Uint8:
		return "uint8"
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

const (
	magic      = "MYRT"
	version    = 1
	maxDims    = 8
	headerSize = 8
	// MaxElements bounds what Decode accepts so a corrupt or hostile header
	// cannot make a reader allocate without limit (256 Mi elements = 1 GiB
	// of float32).
	MaxElements = 256 << 20
)

// ErrFormat is returned (wrapped) for any malformed tensor.
var ErrFormat = errors.New("tensor: bad format")

// Tensor is a dense array. Exactly one of F32 and U8 is set, matching DType.
type Tensor struct {
	DType DType
	Shape []int
	F32   []float32
	U8    []uint8
}

// NewFloat32 returns a zeroed float32 tensor of the given shape.
func NewFloat32(shape ...int) *Tensor {
	return &Tensor{DType: Float32, Shape: append([]int(nil), shape...), F32: make([]float32, numel(shape))}
}

// NewUint8 returns a zeroed uint8 tensor of the given shape.
func NewUint8(shape ...int) *Tensor {
	return &Tensor{DType: Uint8, Shape: append([]int(nil), shape...), U8: make([]uint8, numel(shape))}
}

// Len returns the number of elements.
func (t *Tensor) Len() int { return numel(t.Shape) }

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Validate checks that the shape and data agree.
func (t *Tensor) Validate() error {
	if len(t.Shape) == 0 || len(t.Shape) > maxDims {
		return fmt.Errorf("%w: %d dims (want 1..%d)", ErrFormat, len(t.Shape), maxDims)
	}
	n := 1
	for i, d := range t.Shape {
		if d <= 0 || d > math.MaxUint32 {
			return fmt.Errorf("%w: dim %d is %d", ErrFormat, i, d)
		}
		n *= d
		if n > MaxElements {
			return fmt.Errorf("%w: more than %d elements", ErrFormat, MaxElements)
		}
	}
	switch t.DType {
	case Float32:
		if len(t.F32) != n || t.U8 != nil {
			return fmt.Errorf("%w: float32 data has %d elements, shape needs %d", ErrFormat, len(t.F32), n)
		}
	case Uint8:
		if len(t.U8) != n || t.F32 != nil {
			return fmt.Errorf("%w: uint8 data has %d elements, shape needs %d", ErrFormat, len(t.U8), n)
		}
	default:
		return fmt.Errorf("%w: unknown dtype %d", ErrFormat, t.DType)
	}
	return nil
}

// Marshal encodes t in the version-1 format.
func (t *Tensor) Marshal() ([]byte, error) {
	var b bytes.Buffer
	if err := Encode(&b, t); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Encode writes t to w in the version-1 format.
func Encode(w io.Writer, t *Tensor) error {
	if err := t.Validate(); err != nil {
		return err
	}
	hdr := make([]byte, headerSize+4*len(t.Shape))
	copy(hdr, magic)
	hdr[4] = version
	hdr[5] = byte(t.DType)
	hdr[6] = byte(len(t.Shape))
	for i, d := range t.Shape {
		binary.LittleEndian.PutUint32(hdr[headerSize+4*i:], uint32(d))
	}
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("write tensor header: %w", err)
	}
	var data []byte
	switch t.DType {
	case Float32:
		data = make([]byte, 4*len(t.F32))
		for i, v := range t.F32 {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
		}
	case Uint8:
		data = t.U8
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("write tensor data: %w", err)
	}
	return nil
}

// Unmarshal decodes a tensor from b.
func Unmarshal(b []byte) (*Tensor, error) {
	t, n, err := decodeHeader(b)
	if err != nil {
		return nil, err
	}
	body := b[n:]
	want := t.Len() * t.DType.Size()
	if len(body) != want {
		return nil, fmt.Errorf("%w: %d data bytes, header says %d", ErrFormat, len(body), want)
	}
	fill(t, body)
	return t, nil
}

// Decode reads one tensor from r. It reads exactly the bytes the header
// announces, so several tensors may be concatenated in one stream.
func Decode(r io.Reader) (*Tensor, error) {
	var fixed [headerSize]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return nil, fmt.Errorf("%w: read header: %w", ErrFormat, err)
	}
	ndim := int(fixed[6])
	if ndim < 1 || ndim > maxDims {
		return nil, fmt.Errorf("%w: %d dims (want 1..%d)", ErrFormat, ndim, maxDims)
	}
	hdr := make([]byte, headerSize+4*ndim)
	copy(hdr, fixed[:])
	if _, err := io.ReadFull(r, hdr[headerSize:]); err != nil {
		return nil, fmt.Errorf("%w: read dims: %w", ErrFormat, err)
	}
	t, _, err := decodeHeader(hdr)
	if err != nil {
		return nil, err
	}
	body := make([]byte, t.Len()*t.DType.Size())
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("%w: read data: %w", ErrFormat, err)
	}
	fill(t, body)
	return t, nil
}

// decodeHeader parses the header at the start of b and returns an empty
// tensor with its shape set plus the header length.
func decodeHeader(b []byte) (*Tensor, int, error) {
	if len(b) < headerSize || string(b[:4]) != magic {
		return nil, 0, fmt.Errorf("%w: missing magic %q", ErrFormat, magic)
	}
	if b[4] != version {
		return nil, 0, fmt.Errorf("%w: version %d (want %d)", ErrFormat, b[4], version)
	}
	dt := DType(b[5])
	if dt.Size() == 0 {
		return nil, 0, fmt.Errorf("%w: unknown dtype %d", ErrFormat, b[5])
	}
	ndim := int(b[6])
	if ndim < 1 || ndim > maxDims {
		return nil, 0, fmt.Errorf("%w: %d dims (want 1..%d)", ErrFormat, ndim, maxDims)
	}
	n := headerSize + 4*ndim
	if len(b) < n {
		return nil, 0, fmt.Errorf("%w: header truncated", ErrFormat)
	}
	shape := make([]int, ndim)
	total := 1
	for i := range shape {
		d := int(binary.LittleEndian.Uint32(b[headerSize+4*i:]))
		if d == 0 {
			return nil, 0, fmt.Errorf("%w: dim %d is 0", ErrFormat, i)
		}
		total *= d
		if total > MaxElements {
			return nil, 0, fmt.Errorf("%w: more than %d elements", ErrFormat, MaxElements)
		}
		shape[i] = d
	}
	return &Tensor{DType: dt, Shape: shape}, n, nil
}

func fill(t *Tensor, body []byte) {
	switch t.DType {
	case Float32:
		t.F32 = make([]float32, t.Len())
		for i := range t.F32 {
			t.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:]))
		}
	case Uint8:
		t.U8 = append([]uint8(nil), body...)
	}
}
