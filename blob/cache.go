package blob

import (
	"cmp"
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// CacheOptions configures a Cache.
type CacheOptions struct {
	// MaxBytes bounds the bytes kept on disk. Required (> 0). A single blob
	// larger than this is still served; it stays only until the next fetch
	// evicts it.
	MaxBytes int64
}

// CacheStats are running totals since the cache was created.
type CacheStats struct {
	Hits          int64 `json:"hits"`           // Opens served from disk with no download
	Misses        int64 `json:"misses"`         // Opens that fetched from upstream
	BytesServed   int64 `json:"bytes_served"`   // bytes of blobs opened from disk
	BytesFetched  int64 `json:"bytes_fetched"`  // bytes downloaded from upstream
	BytesUploaded int64 `json:"bytes_uploaded"` // bytes written through to upstream by Put
	Evictions     int64 `json:"evictions"`      // blobs removed to stay under MaxBytes
	Bytes         int64 `json:"bytes"`          // bytes held now
	Blobs         int   `json:"blobs"`          // blobs held now
}

// Cache is a worker's read-through cache in front of an upstream Store
// (normally a Client talking to the coordinator). Reads are served from a
// Local folder when possible and fetched — and verified against the ref —
// otherwise; writes go to both, so a later stage scheduled on the same
// worker finds its input already here.
//
// The cache keeps its own index of what it holds so it can answer Holds
// and Inventory without touching the disk; a scheduler uses that to prefer
// the worker that already has a microtask's inputs.
type Cache struct {
	local    *Local
	upstream Store
	max      int64

	fetches singleflight.Group // one download per ref however many readers wait

	mu    sync.Mutex
	lru   *list.List // of *cacheEntry, most recently used at the front
	index map[Ref]*list.Element
	gen   uint64
	stats CacheStats
}

type cacheEntry struct {
	ref  Ref
	size int64
}

var _ Store = (*Cache)(nil)

// NewCache returns a cache keeping blobs in local and fetching misses from
// upstream. Blobs already in local (from an earlier run) are indexed, the
// most recently written counting as most recently used, and trimmed to
// MaxBytes.
func NewCache(ctx context.Context, local *Local, upstream Store, opts CacheOptions) (*Cache, error) {
	if opts.MaxBytes <= 0 {
		return nil, fmt.Errorf("new blob cache: MaxBytes must be positive, got %d", opts.MaxBytes)
	}
	c := &Cache{local: local, upstream: upstream, max: opts.MaxBytes, lru: list.New(), index: make(map[Ref]*list.Element)}
	type found struct {
		info Info
		mod  time.Time
	}
	var all []found
	err := local.Walk(ctx, func(info Info, mod time.Time) error {
		all = append(all, found{info, mod})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("new blob cache: index %s: %w", local.Dir(), err)
	}
	// Oldest first, so each PushFront leaves the newest at the front.
	slices.SortFunc(all, func(a, b found) int {
		return cmp.Or(a.mod.Compare(b.mod), cmp.Compare(a.info.Ref, b.info.Ref))
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range all {
		c.addLocked(f.info)
	}
	c.evictLocked(ctx, "")
	return c, nil
}

// Open implements Store: from disk on a hit, otherwise fetched from
// upstream, verified and kept.
func (c *Cache) Open(ctx context.Context, ref Ref) (io.ReadCloser, error) {
	if _, err := ParseRef(string(ref)); err != nil {
		return nil, err
	}
	if rc, size, ok := c.openHit(ctx, ref); ok {
		c.mu.Lock()
		c.stats.Hits++
		c.stats.BytesServed += size
		c.mu.Unlock()
		return rc, nil
	}
	// The download is shared by every reader of ref, so it must not stop
	// because the first one gave up; each reader still stops waiting when
	// its own context ends.
	fetchCtx := context.WithoutCancel(ctx)
	ch := c.fetches.DoChan(string(ref), func() (any, error) {
		// A fetch that finished between our miss and this call has
		// already brought the blob; do not download it twice.
		if c.Holds(ref) {
			return nil, nil
		}
		return nil, c.fetch(fetchCtx, ref)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
	case <-ctx.Done():
		return nil, fmt.Errorf("open blob %s: %w", ref, ctx.Err())
	}
	// The blob may be evicted between fetch and open by another fetch; the
	// file is then gone and we fetch again rather than fail.
	for range 3 {
		rc, err := c.local.Open(ctx, ref)
		if err == nil {
			return rc, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if err := c.fetch(ctx, ref); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("open blob %s: evicted repeatedly before it could be read; cache too small", ref)
}

// openHit opens ref from disk if the index says it is there, touching it in
// the LRU order.
func (c *Cache) openHit(ctx context.Context, ref Ref) (io.ReadCloser, int64, bool) {
	c.mu.Lock()
	el, ok := c.index[ref]
	if ok {
		c.lru.MoveToFront(el)
	}
	c.mu.Unlock()
	if !ok {
		return nil, 0, false
	}
	rc, err := c.local.Open(ctx, ref)
	if err != nil {
		// Removed behind our back (or unreadable): forget it and refetch.
		c.mu.Lock()
		if el, ok := c.index[ref]; ok {
			c.removeLocked(el)
		}
		c.mu.Unlock()
		return nil, 0, false
	}
	return rc, el.Value.(*cacheEntry).size, true
}

// fetch downloads ref into the local folder. PutExpect verifies the bytes,
// so a corrupt or lying upstream never poisons the cache.
func (c *Cache) fetch(ctx context.Context, ref Ref) error {
	rc, err := c.upstream.Open(ctx, ref)
	if err != nil {
		return fmt.Errorf("fetch blob %s: %w", ref, err)
	}
	defer rc.Close()
	info, err := c.local.putInfo(ctx, ref, rc)
	if err != nil {
		return fmt.Errorf("fetch blob %s: %w", ref, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Misses++
	c.stats.BytesFetched += info.Size
	c.addLocked(info)
	c.evictLocked(ctx, ref)
	return nil
}

// Put implements Store: the blob is kept locally and written through to
// upstream, which remains the source of truth.
func (c *Cache) Put(ctx context.Context, r io.Reader) (Ref, error) {
	info, err := c.local.putInfo(ctx, "", r)
	if err != nil {
		return "", err
	}
	return info.Ref, c.writeThrough(ctx, info)
}

// PutExpect implements Store.
func (c *Cache) PutExpect(ctx context.Context, want Ref, r io.Reader) error {
	if _, err := ParseRef(string(want)); err != nil {
		return err
	}
	info, err := c.local.putInfo(ctx, want, r)
	if err != nil {
		return err
	}
	return c.writeThrough(ctx, info)
}

func (c *Cache) writeThrough(ctx context.Context, info Info) error {
	c.mu.Lock()
	c.addLocked(info)
	c.evictLocked(ctx, info.Ref)
	c.mu.Unlock()
	f, err := c.local.Open(ctx, info.Ref)
	if err != nil {
		return fmt.Errorf("upload blob %s: %w", info.Ref, err)
	}
	defer f.Close()
	if err := c.upstream.PutExpect(ctx, info.Ref, f); err != nil {
		return fmt.Errorf("upload blob %s: %w", info.Ref, err)
	}
	c.mu.Lock()
	c.stats.BytesUploaded += info.Size
	c.mu.Unlock()
	return nil
}

// Stat implements Store, answering from the index when it can.
func (c *Cache) Stat(ctx context.Context, ref Ref) (Info, error) {
	if _, err := ParseRef(string(ref)); err != nil {
		return Info{}, err
	}
	c.mu.Lock()
	el, ok := c.index[ref]
	c.mu.Unlock()
	if ok {
		return Info{Ref: ref, Size: el.Value.(*cacheEntry).size}, nil
	}
	return c.upstream.Stat(ctx, ref)
}

// Holds reports whether ref is on this worker's disk now.
func (c *Cache) Holds(ref Ref) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.index[ref]
	return ok
}

// HeldBytes returns how many bytes of refs are held locally: the transfer a
// microtask with these inputs would save by running here.
func (c *Cache) HeldBytes(refs ...Ref) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, r := range refs {
		if el, ok := c.index[r]; ok {
			n += el.Value.(*cacheEntry).size
		}
	}
	return n
}

// Inventory lists the blobs held, sorted by ref, and a generation number
// that changes whenever the set changes, so a worker can send the list in a
// heartbeat only when it differs from the last one sent.
func (c *Cache) Inventory() ([]Info, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Info, 0, len(c.index))
	for ref, el := range c.index {
		out = append(out, Info{Ref: ref, Size: el.Value.(*cacheEntry).size})
	}
	slices.SortFunc(out, func(a, b Info) int { return cmp.Compare(a.Ref, b.Ref) })
	return out, c.gen
}

// Stats returns the running totals.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Blobs = len(c.index)
	return s
}

func (c *Cache) addLocked(info Info) {
	if el, ok := c.index[info.Ref]; ok {
		c.lru.MoveToFront(el)
		return
	}
	c.index[info.Ref] = c.lru.PushFront(&cacheEntry{ref: info.Ref, size: info.Size})
	c.stats.Bytes += info.Size
	c.gen++
}

func (c *Cache) removeLocked(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.lru.Remove(el)
	delete(c.index, e.ref)
	c.stats.Bytes -= e.size
	c.gen++
}

// evictLocked removes least recently used blobs until the cache fits,
// sparing keep (the blob just fetched, which a caller is about to open).
// Deleting a file someone is reading is safe: the reader keeps its handle.
func (c *Cache) evictLocked(ctx context.Context, keep Ref) {
	for el := c.lru.Back(); el != nil && c.stats.Bytes > c.max; {
		prev := el.Prev()
		e := el.Value.(*cacheEntry)
		if e.ref != keep {
			if err := c.local.Delete(ctx, e.ref); err == nil || errors.Is(err, os.ErrNotExist) {
				c.removeLocked(el)
				c.stats.Evictions++
			}
		}
		el = prev
	}
}
