package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/blob/blobtest"
)

// countingStore wraps a Store, counting upstream Opens and optionally
// blocking them or corrupting what they return.
type countingStore struct {
	blob.Store
	opens   atomic.Int64
	gate    chan struct{} // if set, Open waits on it
	entered chan struct{} // if set, Open signals here first
	corrupt bool
}

func (c *countingStore) Open(ctx context.Context, ref blob.Ref) (io.ReadCloser, error) {
	c.opens.Add(1)
	if c.entered != nil {
		c.entered <- struct{}{}
	}
	if c.gate != nil {
		<-c.gate
	}
	if c.corrupt {
		return io.NopCloser(bytes.NewReader([]byte("not what you asked for"))), nil
	}
	return c.Store.Open(ctx, ref)
}

func newCache(t *testing.T, up blob.Store, max int64) (*blob.Cache, *blob.Local) {
	t.Helper()
	l := openLocal(t, t.TempDir(), blob.LocalOptions{NoSync: true})
	c, err := blob.NewCache(context.Background(), l, up, blob.CacheOptions{MaxBytes: max})
	if err != nil {
		t.Fatal(err)
	}
	return c, l
}

func TestCacheConformance(t *testing.T) {
	t.Parallel()
	blobtest.Run(t, func(t *testing.T) blob.Store {
		c, _ := newCache(t, blob.NewMem(), 64<<20)
		return c
	})
}

func readAll(t *testing.T, s blob.Store, ref blob.Ref) []byte {
	t.Helper()
	b, err := blob.Get(context.Background(), s, ref, 0)
	if err != nil {
		t.Fatalf("Get(%s): %v", ref, err)
	}
	return b
}

func TestCacheLRUAndAccounting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	up := &countingStore{Store: blob.NewMem()}
	var refs []blob.Ref
	for i := range 4 {
		ref, err := blob.PutBytes(ctx, up, blobtest.RandomBytes(uint64(i), 1000))
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	a, b, c, d := refs[0], refs[1], refs[2], refs[3]
	cache, _ := newCache(t, up, 3000)
	_, gen0 := cache.Inventory()

	readAll(t, cache, a)
	readAll(t, cache, b)
	readAll(t, cache, c)
	readAll(t, cache, a) // hit; a becomes most recent, b least
	if got := up.opens.Load(); got != 3 {
		t.Fatalf("upstream opened %d times for 3 distinct blobs and one repeat, want 3", got)
	}
	readAll(t, cache, d) // evicts b
	if cache.Holds(b) {
		t.Error("least recently used blob b still held after eviction")
	}
	for _, r := range []blob.Ref{a, c, d} {
		if !cache.Holds(r) {
			t.Errorf("blob %s not held, want held", r)
		}
	}
	if got := cache.HeldBytes(a, b, c); got != 2000 {
		t.Errorf("HeldBytes(a,b,c) = %d, want 2000", got)
	}
	inv, gen := cache.Inventory()
	if len(inv) != 3 || gen == gen0 {
		t.Errorf("Inventory = %d blobs at generation %d (was %d), want 3 and a new generation", len(inv), gen, gen0)
	}
	st := cache.Stats()
	want := blob.CacheStats{Hits: 1, Misses: 4, BytesServed: 1000, BytesFetched: 4000, Evictions: 1, Bytes: 3000, Blobs: 3}
	if st != want {
		t.Errorf("Stats = %+v\nwant    %+v", st, want)
	}
}

func TestCacheRejectsCorruptUpstream(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mem := blob.NewMem()
	ref, _ := blob.PutBytes(ctx, mem, []byte("genuine"))
	cache, _ := newCache(t, &countingStore{Store: mem, corrupt: true}, 1<<20)
	if _, err := cache.Open(ctx, ref); !errors.Is(err, blob.ErrHashMismatch) {
		t.Fatalf("Open via corrupt upstream error = %v, want ErrHashMismatch", err)
	}
	if cache.Holds(ref) || cache.Stats().Bytes != 0 {
		t.Fatal("cache kept bytes that did not match their ref")
	}
}

// Many readers of one missing blob cause a single download.
func TestCacheSingleFetchForConcurrentMisses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mem := blob.NewMem()
	ref, _ := blob.PutBytes(ctx, mem, blobtest.RandomBytes(1, 10000))
	up := &countingStore{Store: mem, gate: make(chan struct{}), entered: make(chan struct{}, 16)}
	cache, _ := newCache(t, up, 1<<20)
	const readers = 8
	var started, done sync.WaitGroup
	started.Add(readers)
	errs := make(chan error, readers)
	for range readers {
		done.Go(func() {
			started.Done()
			_, err := blob.Get(ctx, cache, ref, 0)
			errs <- err
		})
	}
	started.Wait()
	<-up.entered // the first fetch is in flight and blocked
	close(up.gate)
	done.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := up.opens.Load(); n != 1 {
		t.Fatalf("upstream opened %d times for concurrent readers of one blob, want 1", n)
	}
}

func TestCacheWriteThroughAndRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	up := &countingStore{Store: blob.NewMem()}
	dir := t.TempDir()
	l := openLocal(t, dir, blob.LocalOptions{})
	cache, err := blob.NewCache(ctx, l, up, blob.CacheOptions{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	data := blobtest.RandomBytes(5, 2048)
	ref, err := blob.PutBytes(ctx, cache, data)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := blob.Has(ctx, up.Store, ref); !ok {
		t.Fatal("Put did not write through to upstream")
	}
	if !cache.Holds(ref) || cache.Stats().BytesUploaded != 2048 {
		t.Fatalf("after Put: held=%v stats=%+v; want held and 2048 bytes uploaded", cache.Holds(ref), cache.Stats())
	}
	readAll(t, cache, ref)
	if up.opens.Load() != 0 {
		t.Fatal("reading a blob this worker wrote fetched it from upstream")
	}

	// A new cache over the same folder (a restarted worker) knows the blob.
	again, err := blob.NewCache(ctx, openLocal(t, dir, blob.LocalOptions{}), up, blob.CacheOptions{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Holds(ref) {
		t.Fatal("restarted cache does not index blobs already on disk")
	}
	// And one with a smaller budget trims what it found.
	small, err := blob.NewCache(ctx, openLocal(t, dir, blob.LocalOptions{}), up, blob.CacheOptions{MaxBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	if small.Stats().Bytes > 100 {
		t.Fatalf("cache opened over a full folder holds %d bytes, want <= 100", small.Stats().Bytes)
	}
}

func TestCacheOversizedBlobIsServed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mem := blob.NewMem()
	big, _ := blob.PutBytes(ctx, mem, blobtest.RandomBytes(1, 5000))
	small, _ := blob.PutBytes(ctx, mem, blobtest.RandomBytes(2, 10))
	cache, _ := newCache(t, mem, 1000)
	if got := readAll(t, cache, big); len(got) != 5000 {
		t.Fatalf("read %d bytes of a blob larger than the cache, want 5000", len(got))
	}
	readAll(t, cache, small)
	if cache.Holds(big) || cache.Stats().Bytes > 1000 {
		t.Fatalf("oversized blob kept after the next fetch: stats %+v", cache.Stats())
	}
}

func TestNewCacheNeedsBudget(t *testing.T) {
	t.Parallel()
	l := openLocal(t, t.TempDir(), blob.LocalOptions{})
	if _, err := blob.NewCache(context.Background(), l, blob.NewMem(), blob.CacheOptions{}); err == nil {
		t.Fatal("NewCache with MaxBytes 0 succeeded, want an error naming MaxBytes")
	}
}

// A reader that gives up does not cancel the download others wait for.
func TestCacheCancelledReaderDoesNotFailOthers(t *testing.T) {
	t.Parallel()
	mem := blob.NewMem()
	ref, _ := blob.PutBytes(context.Background(), mem, blobtest.RandomBytes(3, 5000))
	up := &countingStore{Store: mem, gate: make(chan struct{}), entered: make(chan struct{}, 4)}
	cache, _ := newCache(t, up, 1<<20)
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := cache.Open(ctx, ref)
		first <- err
	}()
	<-up.entered // the download started on behalf of the first reader
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled reader got %v, want context.Canceled", err)
	}
	close(up.gate)
	if got := readAll(t, cache, ref); len(got) != 5000 {
		t.Fatalf("second reader read %d bytes", len(got))
	}
	if n := up.opens.Load(); n != 1 {
		t.Fatalf("upstream opened %d times, want 1 (the first download finished for the second reader)", n)
	}
}
