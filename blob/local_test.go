package blob_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/blob/blobtest"
)

func openLocal(t *testing.T, dir string, opts blob.LocalOptions) *blob.Local {
	t.Helper()
	l, err := blob.OpenLocal(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestLocalConformance(t *testing.T) {
	t.Parallel()
	blobtest.Run(t, func(t *testing.T) blob.Store { return openLocal(t, t.TempDir(), blob.LocalOptions{}) })
}

func TestLocalLayout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := openLocal(t, dir, blob.LocalOptions{})
	ref, err := blob.PutBytes(context.Background(), l, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "sha256", ref.Hex()[:2], ref.Hex())
	if b, err := os.ReadFile(want); err != nil || string(b) != "hello" {
		t.Fatalf("blob file %s: %q, %v", want, b, err)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(left) != 0 {
		t.Fatalf("tmp/ holds %d files after a successful put, want 0", len(left))
	}
}

// A symbolic link planted inside the store that points outside it must not
// be followed, even when its name is a valid blob path.
func TestLocalRefusesSymlinkOutOfRoot(t *testing.T) {
	t.Parallel()
	dir, outside := t.TempDir(), t.TempDir()
	secret := []byte("outside the store")
	secretPath := filepath.Join(outside, "secret")
	if err := os.WriteFile(secretPath, secret, 0o644); err != nil {
		t.Fatal(err)
	}
	l := openLocal(t, dir, blob.LocalOptions{})
	ref := blob.Sum(secret)
	fan := filepath.Join(dir, "sha256", ref.Hex()[:2])
	if err := os.MkdirAll(fan, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secretPath, filepath.Join(fan, ref.Hex())); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if rc, err := l.Open(ctx, ref); err == nil {
		rc.Close()
		t.Fatal("Open followed a symlink out of the store")
	}
	if _, err := l.Stat(ctx, ref); err == nil {
		t.Fatal("Stat followed a symlink out of the store")
	}
	// The same for a planted fan-out folder that links outside.
	ref2 := blob.Sum([]byte("x"))
	os.Symlink(outside, filepath.Join(dir, "sha256", ref2.Hex()[:2]))
	if err := os.WriteFile(filepath.Join(outside, ref2.Hex()), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Stat(ctx, ref2); err == nil {
		t.Fatal("Stat followed a symlinked fan-out folder out of the store")
	}
	if _, err := l.Put(ctx, strings.NewReader("x")); err == nil {
		t.Fatal("Put into a symlinked fan-out folder succeeded; want an error")
	}
}

func TestLocalMismatchLeavesNoTemp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := openLocal(t, dir, blob.LocalOptions{MaxSize: 10})
	ctx := context.Background()
	if err := l.PutExpect(ctx, blob.Sum([]byte("a")), strings.NewReader("b")); !errors.Is(err, blob.ErrHashMismatch) {
		t.Fatalf("PutExpect mismatch error = %v", err)
	}
	if _, err := l.Put(ctx, bytes.NewReader(make([]byte, 11))); !errors.Is(err, blob.ErrTooLarge) {
		t.Fatalf("Put over MaxSize error = %v, want ErrTooLarge", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Put(cctx, strings.NewReader("abc")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with cancelled context error = %v, want context.Canceled", err)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(left) != 0 {
		t.Fatalf("tmp/ holds %d files after failed puts, want 0", len(left))
	}
}

func TestLocalWalkAndStaleTemp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := openLocal(t, dir, blob.LocalOptions{NoSync: true})
	ctx := context.Background()
	want := map[blob.Ref]int64{}
	for i := range 5 {
		data := blobtest.RandomBytes(uint64(i), 100*(i+1))
		ref, err := blob.PutBytes(ctx, l, data)
		if err != nil {
			t.Fatal(err)
		}
		want[ref] = int64(len(data))
	}
	// Junk that is not a blob must be ignored by Walk.
	os.WriteFile(filepath.Join(dir, "sha256", "zz-not-a-blob"), []byte("junk"), 0o644)
	got := map[blob.Ref]int64{}
	if err := l.Walk(ctx, func(info blob.Info, _ time.Time) error { got[info.Ref] = info.Size; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Walk found %d blobs, want %d", len(got), len(want))
	}
	for ref, n := range want {
		if got[ref] != n {
			t.Errorf("Walk size of %s = %d, want %d", ref, got[ref], n)
		}
	}
	if err := l.Delete(ctx, blob.Sum([]byte("absent"))); err != nil {
		t.Fatalf("Delete(absent) = %v, want nil", err)
	}

	stale, fresh := filepath.Join(dir, "tmp", "put-stale"), filepath.Join(dir, "tmp", "put-fresh")
	os.WriteFile(stale, []byte("x"), 0o644)
	os.WriteFile(fresh, []byte("x"), 0o644)
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(stale, old, old)
	openLocal(t, dir, blob.LocalOptions{})
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp file survived reopening: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp file (a live writer's) was removed: %v", err)
	}
}
