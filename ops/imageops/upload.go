package imageops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/myriadhq/myriad/blob"
)

// skipKnown is a blob store that asks before it uploads: Put hashes the
// bytes, and sends them only if the store does not hold that ref yet. Image
// inputs are read into memory anyway (bounded by the ingest's size limit),
// so resubmitting a data set costs one HEAD per image, not its bytes.
type skipKnown struct {
	blob.Store
}

// Put implements blob.Store.
func (s skipKnown) Put(ctx context.Context, r io.Reader) (blob.Ref, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("read blob: %w", err)
	}
	ref := blob.Sum(data)
	_, err = s.Store.Stat(ctx, ref)
	switch {
	case err == nil:
		return ref, nil
	case !errors.Is(err, blob.ErrNotFound):
		return "", err
	}
	if err := s.Store.PutExpect(ctx, ref, bytes.NewReader(data)); err != nil {
		return "", err
	}
	return ref, nil
}
