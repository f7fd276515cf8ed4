// Package blobtest is the conformance suite every blob.Store must pass.
// Each implementation's tests call Run with a constructor for a fresh,
// empty store.
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/myriadhq/myriad/blob"
)

// Run exercises s's contract. newStore must return an empty store.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	t.Run("PutGetRoundTrip", func(t *testing.T) { testRoundTrip(t, newStore(t)) })
	t.Run("PutIsIdempotent", func(t *testing.T) { testIdempotent(t, newStore(t)) })
	t.Run("EmptyBlob", func(t *testing.T) { testEmpty(t, newStore(t)) })
	t.Run("Missing", func(t *testing.T) { testMissing(t, newStore(t)) })
	t.Run("InvalidRefs", func(t *testing.T) { testInvalidRefs(t, newStore(t)) })
	t.Run("PutExpectMismatchStoresNothing", func(t *testing.T) { testPutExpectMismatch(t, newStore(t)) })
	t.Run("PutExpectMatch", func(t *testing.T) { testPutExpectMatch(t, newStore(t)) })
	t.Run("ConcurrentPuts", func(t *testing.T) { testConcurrent(t, newStore(t)) })
}

// RandomBytes returns n reproducible pseudo-random bytes for seed.
func RandomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func testRoundTrip(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for _, n := range []int{1, 1000, 1 << 20} {
		data := RandomBytes(uint64(n), n)
		ref, err := s.Put(ctx, bytes.NewReader(data))
		if err != nil {
			t.Fatalf("Put(%d bytes): %v", n, err)
		}
		if want := blob.Sum(data); ref != want {
			t.Fatalf("Put returned %s, want %s", ref, want)
		}
		got, err := blob.Get(ctx, s, ref, 0)
		if err != nil {
			t.Fatalf("Get(%s): %v", ref, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("Get(%s) returned %d different bytes, want the %d put", ref, len(got), n)
		}
		info, err := s.Stat(ctx, ref)
		if err != nil || info.Size != int64(n) || info.Ref != ref {
			t.Fatalf("Stat(%s) = %+v, %v; want size %d", ref, info, err, n)
		}
		if ok, err := blob.Has(ctx, s, ref); !ok || err != nil {
			t.Fatalf("Has(%s) = %v, %v; want true", ref, ok, err)
		}
	}
}

func testIdempotent(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := []byte("same bytes twice")
	r1, err := s.Put(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.Put(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("second Put: %v", err)
	}
	if r1 != r2 {
		t.Fatalf("same content got refs %s and %s", r1, r2)
	}
}

func testEmpty(t *testing.T, s blob.Store) {
	ctx := context.Background()
	ref, err := s.Put(ctx, bytes.NewReader(nil))
	if err != nil {
		t.Fatalf("Put(empty): %v", err)
	}
	got, err := blob.Get(ctx, s, ref, 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("Get(empty) = %d bytes, %v", len(got), err)
	}
}

func testMissing(t *testing.T, s blob.Store) {
	ctx := context.Background()
	ref := blob.Sum([]byte("never stored"))
	if _, err := s.Open(ctx, ref); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open(missing) error = %v, want ErrNotFound", err)
	}
	if _, err := s.Stat(ctx, ref); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat(missing) error = %v, want ErrNotFound", err)
	}
	if ok, err := blob.Has(ctx, s, ref); ok || err != nil {
		t.Fatalf("Has(missing) = %v, %v; want false, nil", ok, err)
	}
}

// BadRefs are strings that must never be accepted as refs, in particular
// ones that would escape a folder if used as a path.
var BadRefs = []string{
	"",
	"../../etc/passwd",
	"/etc/passwd",
	"sha256:../../../../etc/passwd",
	"sha256:" + strings.Repeat("a", 63),
	"sha256:" + strings.Repeat("a", 65),
	"sha256:" + strings.Repeat("A", 64),
	"sha256:" + strings.Repeat("a", 62) + "/.",
	"md5:" + strings.Repeat("a", 32),
	"sha256:" + strings.Repeat("g", 64),
}

func testInvalidRefs(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for _, bad := range BadRefs {
		ref := blob.Ref(bad)
		if _, err := s.Open(ctx, ref); !errors.Is(err, blob.ErrInvalidRef) {
			t.Errorf("Open(%q) error = %v, want ErrInvalidRef", bad, err)
		}
		if _, err := s.Stat(ctx, ref); !errors.Is(err, blob.ErrInvalidRef) {
			t.Errorf("Stat(%q) error = %v, want ErrInvalidRef", bad, err)
		}
		if err := s.PutExpect(ctx, ref, strings.NewReader("x")); !errors.Is(err, blob.ErrInvalidRef) {
			t.Errorf("PutExpect(%q) error = %v, want ErrInvalidRef", bad, err)
		}
	}
}

func testPutExpectMismatch(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := []byte("the real content")
	claimed := blob.Sum([]byte("something else"))
	err := s.PutExpect(ctx, claimed, bytes.NewReader(data))
	if !errors.Is(err, blob.ErrHashMismatch) {
		t.Fatalf("PutExpect(wrong ref) error = %v, want ErrHashMismatch", err)
	}
	for _, ref := range []blob.Ref{claimed, blob.Sum(data)} {
		if ok, err := blob.Has(ctx, s, ref); ok || err != nil {
			t.Errorf("after a rejected PutExpect, Has(%s) = %v, %v; want false", ref, ok, err)
		}
	}
}

func testPutExpectMatch(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := RandomBytes(7, 5000)
	ref := blob.Sum(data)
	if err := s.PutExpect(ctx, ref, bytes.NewReader(data)); err != nil {
		t.Fatalf("PutExpect(right ref): %v", err)
	}
	got, err := blob.Get(ctx, s, ref, 0)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get after PutExpect: %d bytes, %v", len(got), err)
	}
}

func testConcurrent(t *testing.T, s blob.Store) {
	ctx := context.Background()
	const writers = 8
	data := RandomBytes(99, 64<<10)
	want := blob.Sum(data)
	var wg sync.WaitGroup
	errs := make(chan error, writers*2)
	for i := range writers {
		wg.Go(func() {
			ref, err := s.Put(ctx, bytes.NewReader(data))
			if err == nil && ref != want {
				err = fmt.Errorf("writer %d got %s", i, ref)
			}
			errs <- err
			// A distinct blob per writer as well, interleaved with the
			// shared one.
			own := RandomBytes(uint64(1000+i), 4096)
			_, err = s.Put(ctx, bytes.NewReader(own))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rc, err := s.Open(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("after concurrent puts the blob reads back %d bytes (err %v), want the original %d", len(got), err, len(data))
	}
}
