package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrFormat is returned (wrapped) for a malformed IDX file.
var ErrFormat = errors.New("dataset: bad IDX file")

// maxIDXBytes bounds what ReadIDX accepts (MNIST's training images are
// 47 MB uncompressed).
const maxIDXBytes = 1 << 30

// IDX is the content of an IDX file of unsigned bytes.
type IDX struct {
	// Dims are the dimensions, outermost first ([n, rows, cols] for
	// images, [n] for labels).
	Dims []int
	// Data holds the values in row-major order.
	Data []uint8
}

// ReadIDXFile reads an IDX file, gunzipping it if it starts with the gzip
// magic bytes (whatever its name).
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read idx: %w", err)
	}
	defer f.Close()
	idx, err := ReadIDX(f)
	if err != nil {
		return nil, fmt.Errorf("read idx %s: %w", path, err)
	}
	return idx, nil
}

// ReadIDX reads an IDX stream of unsigned bytes (type code 0x08),
// gzip-compressed or plain. Other element types are rejected.
func ReadIDX(r io.Reader) (*IDX, error) {
	br := bufio.NewReader(r)
	if head, err := br.Peek(2); err == nil && bytes.Equal(head, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %w", ErrFormat, err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return nil, fmt.Errorf("%w: magic: %w", ErrFormat, err)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("%w: magic % x does not start with two zero bytes", ErrFormat, magic)
	}
	if magic[2] != 0x08 {
		return nil, fmt.Errorf("%w: element type 0x%02x (only unsigned bytes, 0x08, are supported)", ErrFormat, magic[2])
	}
	nd := int(magic[3])
	if nd < 1 || nd > 8 {
		return nil, fmt.Errorf("%w: %d dimensions", ErrFormat, nd)
	}
	dims := make([]int, nd)
	total := 1
	for i := range dims {
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, fmt.Errorf("%w: dimension %d: %w", ErrFormat, i, err)
		}
		dims[i] = int(binary.BigEndian.Uint32(b[:]))
		if dims[i] == 0 {
			return nil, fmt.Errorf("%w: dimension %d is 0", ErrFormat, i)
		}
		total *= dims[i]
		if total > maxIDXBytes {
			return nil, fmt.Errorf("%w: more than %d values", ErrFormat, maxIDXBytes)
		}
	}
	data := make([]byte, total)
	if _, err := io.ReadFull(br, data); err != nil {
		return nil, fmt.Errorf("%w: data (want %d bytes): %w", ErrFormat, total, err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%w: data continues past the %d bytes the header announces", ErrFormat, total)
	}
	return &IDX{Dims: dims, Data: data}, nil
}
