package blob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"time"
)

// LocalOptions configures a Local store. The zero value is usable.
type LocalOptions struct {
	// MaxSize rejects blobs larger than this many bytes with ErrTooLarge;
	// 0 means no limit.
	MaxSize int64
	// NoSync skips fsync of each new blob and its folder. Bulk imports that
	// can be rerun after a crash (MNIST into a scratch store) go several
	// times faster; the coordinator's store should leave it false.
	NoSync bool
}

// Local is a Store in a folder:
//
//	<dir>/sha256/<first two hex digits>/<64 hex digits>   the blobs
//	<dir>/tmp/                                            writes in progress
//
// The two-digit fan-out keeps folders small (256 of them; a million blobs
// is about 4 000 files each). All access goes through an os.Root, so names
// cannot leave the folder even through planted symbolic links.
type Local struct {
	root *os.Root
	dir  string
	opts LocalOptions
}

var _ Store = (*Local)(nil)

const (
	blobsDir = "sha256"
	tmpDir   = "tmp"
	// staleTemp is how old a leftover temporary file must be before
	// OpenLocal removes it; younger ones may belong to a live writer.
	staleTemp = time.Hour
)

// OpenLocal opens (creating if needed) a store in dir.
func OpenLocal(dir string, opts LocalOptions) (*Local, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	for _, d := range []string{blobsDir, tmpDir} {
		if err := root.MkdirAll(d, 0o755); err != nil {
			root.Close()
			return nil, fmt.Errorf("open blob store: %w", err)
		}
	}
	l := &Local{root: root, dir: dir, opts: opts}
	l.removeStaleTemp()
	return l, nil
}

// Close releases the folder handle. Readers already open stay valid.
func (l *Local) Close() error { return l.root.Close() }

// Dir returns the store's folder.
func (l *Local) Dir() string { return l.dir }

func blobPath(ref Ref) string {
	h := ref.Hex()
	return path.Join(blobsDir, h[:2], h)
}

// Put implements Store.
func (l *Local) Put(ctx context.Context, r io.Reader) (Ref, error) {
	ref, _, err := l.write(ctx, "", r)
	return ref, err
}

// PutExpect implements Store.
func (l *Local) PutExpect(ctx context.Context, want Ref, r io.Reader) error {
	if _, err := ParseRef(string(want)); err != nil {
		return err
	}
	_, _, err := l.write(ctx, want, r)
	return err
}

// putInfo is Put that also returns the size, which the cache needs for its
// accounting without a second Stat.
func (l *Local) putInfo(ctx context.Context, want Ref, r io.Reader) (Info, error) {
	ref, n, err := l.write(ctx, want, r)
	return Info{Ref: ref, Size: n}, err
}

// write streams r into a temporary file while hashing it, then renames the
// file into place. Rename is atomic, so readers see either nothing or the
// whole blob; a second writer of the same content just replaces identical
// bytes.
func (l *Local) write(ctx context.Context, want Ref, r io.Reader) (Ref, int64, error) {
	tmpName, f, err := l.createTemp()
	if err != nil {
		return "", 0, fmt.Errorf("put blob: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			l.root.Remove(tmpName)
		}
	}()

	h := NewHash()
	src := io.Reader(ctxReader{ctx: ctx, r: r})
	if l.opts.MaxSize > 0 {
		src = io.LimitReader(src, l.opts.MaxSize+1)
	}
	n, err := io.Copy(io.MultiWriter(f, h), src)
	if err != nil {
		return "", 0, fmt.Errorf("put blob: %w", err)
	}
	if l.opts.MaxSize > 0 && n > l.opts.MaxSize {
		return "", 0, fmt.Errorf("put blob: %w: more than %d bytes", ErrTooLarge, l.opts.MaxSize)
	}
	ref := RefOf(h)
	if want != "" && ref != want {
		return "", 0, fmt.Errorf("put blob %s: %w (got %s)", want, ErrHashMismatch, ref)
	}
	if !l.opts.NoSync {
		if err := f.Sync(); err != nil {
			return "", 0, fmt.Errorf("put blob: sync: %w", err)
		}
	}
	if err := f.Close(); err != nil {
		return "", 0, fmt.Errorf("put blob: %w", err)
	}
	final := blobPath(ref)
	if err := l.root.MkdirAll(path.Dir(final), 0o755); err != nil {
		return "", 0, fmt.Errorf("put blob: %w", err)
	}
	if err := l.root.Rename(tmpName, final); err != nil {
		return "", 0, fmt.Errorf("put blob: %w", err)
	}
	committed = true
	if !l.opts.NoSync {
		l.syncDir(path.Dir(final))
	}
	return ref, n, nil
}

func (l *Local) createTemp() (string, *os.File, error) {
	var b [12]byte
	rand.Read(b[:])
	name := path.Join(tmpDir, "put-"+hex.EncodeToString(b[:]))
	f, err := l.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	return name, f, err
}

// syncDir makes the rename durable. Failure is not reported: the blob is
// already visible and complete, only its survival of a power cut is in
// doubt, and some file systems refuse fsync on folders.
func (l *Local) syncDir(dir string) {
	if d, err := l.root.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Open implements Store. The reader is an *os.File, so it also seeks, which
// lets the HTTP handler serve ranges.
func (l *Local) Open(ctx context.Context, ref Ref) (io.ReadCloser, error) {
	if _, err := ParseRef(string(ref)); err != nil {
		return nil, err
	}
	f, err := l.root.Open(blobPath(ref))
	if err != nil {
		return nil, l.mapErr(ref, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open blob %s: %w", ref, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open blob %s: not a regular file", ref)
	}
	return f, nil
}

// Stat implements Store.
func (l *Local) Stat(ctx context.Context, ref Ref) (Info, error) {
	if _, err := ParseRef(string(ref)); err != nil {
		return Info{}, err
	}
	fi, err := l.root.Stat(blobPath(ref))
	if err != nil {
		return Info{}, l.mapErr(ref, err)
	}
	if !fi.Mode().IsRegular() {
		return Info{}, fmt.Errorf("stat blob %s: not a regular file", ref)
	}
	return Info{Ref: ref, Size: fi.Size()}, nil
}

// Delete removes a blob. Deleting an absent blob is not an error, so
// eviction and garbage collection can race harmlessly. Readers that already
// opened the blob keep reading it (POSIX unlink semantics).
func (l *Local) Delete(ctx context.Context, ref Ref) error {
	if _, err := ParseRef(string(ref)); err != nil {
		return err
	}
	if err := l.root.Remove(blobPath(ref)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob %s: %w", ref, err)
	}
	return nil
}

// Walk calls fn for every blob, in no particular order, with its size and
// modification time. Files whose names are not refs are skipped.
func (l *Local) Walk(ctx context.Context, fn func(info Info, mod time.Time) error) error {
	return fs.WalkDir(l.root.FS(), blobsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		ref, perr := ParseRef(refPrefix + d.Name())
		if perr != nil || p != blobPath(ref) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // deleted while walking
			}
			return err
		}
		return fn(Info{Ref: ref, Size: fi.Size()}, fi.ModTime())
	})
}

func (l *Local) removeStaleTemp() {
	entries, err := fs.ReadDir(l.root.FS(), tmpDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTemp {
			l.root.Remove(path.Join(tmpDir, e.Name()))
		}
	}
}

func (l *Local) mapErr(ref Ref, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	return fmt.Errorf("blob %s: %w", ref, err)
}

// ctxReader stops a long copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
