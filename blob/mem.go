package blob

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
)

// Mem is an in-memory Store for tests and small tools.
type Mem struct {
	mu    sync.RWMutex
	blobs map[Ref][]byte
}

var _ Store = (*Mem)(nil)

// NewMem returns an empty in-memory store.
func NewMem() *Mem { return &Mem{blobs: make(map[Ref][]byte)} }

// Put implements Store.
func (m *Mem) Put(ctx context.Context, r io.Reader) (Ref, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("put blob: %w", err)
	}
	ref := Sum(b)
	m.mu.Lock()
	m.blobs[ref] = b
	m.mu.Unlock()
	return ref, nil
}

// PutExpect implements Store.
func (m *Mem) PutExpect(ctx context.Context, want Ref, r io.Reader) error {
	if _, err := ParseRef(string(want)); err != nil {
		return err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("put blob %s: %w", want, err)
	}
	if got := Sum(b); got != want {
		return fmt.Errorf("put blob %s: %w (got %s)", want, ErrHashMismatch, got)
	}
	m.mu.Lock()
	m.blobs[want] = b
	m.mu.Unlock()
	return nil
}

// Open implements Store.
func (m *Mem) Open(ctx context.Context, ref Ref) (io.ReadCloser, error) {
	b, err := m.get(ref)
	if err != nil {
		return nil, err
	}
	return memReader{bytes.NewReader(b)}, nil
}

// memReader seeks, so Handler can serve ranges from a Mem store too.
type memReader struct{ *bytes.Reader }

func (memReader) Close() error { return nil }

// Stat implements Store.
func (m *Mem) Stat(ctx context.Context, ref Ref) (Info, error) {
	b, err := m.get(ref)
	if err != nil {
		return Info{}, err
	}
	return Info{Ref: ref, Size: int64(len(b))}, nil
}

// Len returns the number of blobs held.
func (m *Mem) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.blobs)
}

func (m *Mem) get(ref Ref) ([]byte, error) {
	if _, err := ParseRef(string(ref)); err != nil {
		return nil, err
	}
	m.mu.RLock()
	b, ok := m.blobs[ref]
	m.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	return b, nil
}
