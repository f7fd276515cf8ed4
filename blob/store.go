package blob

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Info describes a stored blob.
type Info struct {
	Ref  Ref   `json:"ref"`
	Size int64 `json:"size"`
}

// Store holds blobs by content. Implementations are safe for concurrent use.
type Store interface {
	// Put stores the bytes read from r and returns their ref. Storing bytes
	// that are already present succeeds and returns the same ref.
	Put(ctx context.Context, r io.Reader) (Ref, error)

	// PutExpect stores r only if its bytes hash to want; otherwise nothing
	// is stored and the error wraps ErrHashMismatch. It is how bytes that
	// arrive from elsewhere (an upload, a fetch into a cache) are checked.
	PutExpect(ctx context.Context, want Ref, r io.Reader) error

	// Open returns a reader for the blob; the caller closes it. The error
	// wraps ErrNotFound if the blob is absent and ErrInvalidRef if ref is
	// malformed.
	Open(ctx context.Context, ref Ref) (io.ReadCloser, error)

	// Stat returns the blob's size, with the same errors as Open.
	Stat(ctx context.Context, ref Ref) (Info, error)
}

// Get reads a whole blob, refusing one larger than max bytes (max <= 0
// means no limit) and checking that the bytes match ref, so corruption at
// rest or in transit surfaces as ErrHashMismatch instead of bad data.
func Get(ctx context.Context, s Store, ref Ref, max int64) ([]byte, error) {
	rc, err := s.Open(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var r io.Reader = rc
	if max > 0 {
		r = io.LimitReader(rc, max+1)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", ref, err)
	}
	if max > 0 && int64(len(b)) > max {
		return nil, fmt.Errorf("read blob %s: %w: more than %d bytes", ref, ErrTooLarge, max)
	}
	if got := Sum(b); got != ref {
		return nil, fmt.Errorf("read blob %s: %w (got %s)", ref, ErrHashMismatch, got)
	}
	return b, nil
}

// PutBytes stores b and returns its ref.
func PutBytes(ctx context.Context, s Store, b []byte) (Ref, error) {
	return s.Put(ctx, bytes.NewReader(b))
}

// Has reports whether s holds ref.
func Has(ctx context.Context, s Store, ref Ref) (bool, error) {
	_, err := s.Stat(ctx, ref)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// verifyReader hashes what passes through it and, at EOF, turns a mismatch
// with want into ErrHashMismatch, so a streaming reader of a remote blob
// cannot silently accept corrupted bytes.
type verifyReader struct {
	r    io.Reader
	want Ref
	h    interface {
		io.Writer
		Sum([]byte) []byte
	}
}

func newVerifyReader(r io.Reader, want Ref) *verifyReader {
	return &verifyReader{r: r, want: want, h: NewHash()}
}

func (v *verifyReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	if err == io.EOF {
		if got := Ref(refPrefix + hex.EncodeToString(v.h.Sum(nil))); got != v.want {
			return n, fmt.Errorf("%w: read %s, want %s", ErrHashMismatch, got, v.want)
		}
	}
	return n, err
}
