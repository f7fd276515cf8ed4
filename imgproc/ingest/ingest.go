package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc"
)

// Entry is one input found by a lister, before its bytes are stored:
// either a file (Path, relative to the listing's root, slash-separated) or
// a blob already in the store (Ref).
type Entry struct {
	ID     string   `json:"id"`
	Path   string   `json:"path,omitempty"`
	Ref    blob.Ref `json:"ref,omitempty"`
	Label  string   `json:"label,omitempty"`
	Source string   `json:"source,omitempty"`
}

// Skipped is an input left out, with the reason.
type Skipped struct {
	// Source locates it: a path under the root, or "manifest.csv:12".
	Source string `json:"source"`
	Reason string `json:"reason"`
}

// Listing is what a lister found.
type Listing struct {
	// Root is the folder Entry paths are relative to.
	Root    string    `json:"root"`
	Entries []Entry   `json:"entries"`
	Skipped []Skipped `json:"skipped,omitempty"`
	// Classes are the distinct labels, sorted; a label's index here is the
	// class index torchvision's ImageFolder would give it.
	Classes []string `json:"classes,omitempty"`
}

// Result is an ingest's output.
type Result struct {
	Items   []imgproc.Item `json:"items"`
	Skipped []Skipped      `json:"skipped,omitempty"`
	Classes []string       `json:"classes,omitempty"`
}

// Load stores the bytes of each entry and returns the items. Files larger
// than maxBytes (0: imgproc.DefaultMaxBytes) and entries that cannot be
// read — including any whose path leads out of root — are skipped with a
// reason; a failing store or a cancelled context is an error.
func Load(ctx context.Context, s blob.Store, root string, entries []Entry, maxBytes int64) ([]imgproc.Item, []Skipped, error) {
	if maxBytes <= 0 {
		maxBytes = imgproc.DefaultMaxBytes
	}
	var r *os.Root
	needRoot := false
	for _, e := range entries {
		needRoot = needRoot || e.Path != ""
	}
	if needRoot {
		var err error
		if r, err = os.OpenRoot(root); err != nil {
			return nil, nil, fmt.Errorf("ingest: %w", err)
		}
		defer r.Close()
	}
	items := make([]imgproc.Item, 0, len(entries))
	var skipped []Skipped
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("ingest: %w", err)
		}
		item, reason, err := loadOne(ctx, s, r, e, maxBytes)
		if err != nil {
			return nil, nil, err
		}
		if reason != "" {
			skipped = append(skipped, Skipped{Source: e.Source, Reason: reason})
			continue
		}
		items = append(items, item)
	}
	return items, skipped, nil
}

// loadOne returns a reason (and no error) when the entry itself is bad.
func loadOne(ctx context.Context, s blob.Store, r *os.Root, e Entry, maxBytes int64) (imgproc.Item, string, error) {
	item := imgproc.Item{ID: e.ID, Label: e.Label, Source: e.Source}
	if e.Ref != "" {
		info, err := s.Stat(ctx, e.Ref)
		switch {
		case errors.Is(err, blob.ErrNotFound), errors.Is(err, blob.ErrInvalidRef):
			return item, err.Error(), nil
		case err != nil:
			return item, "", fmt.Errorf("ingest %s: %w", e.ID, err)
		}
		item.Blob = info.Ref
		return item, "", nil
	}
	f, err := r.Open(e.Path)
	if err != nil {
		return item, openReason(e.Path, err), nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return item, fmt.Sprintf("stat %s: %v", e.Path, err), nil
	}
	if !fi.Mode().IsRegular() {
		return item, fmt.Sprintf("%s is not a regular file", e.Path), nil
	}
	if fi.Size() > maxBytes {
		return item, fmt.Sprintf("%s is %d bytes, limit %d", e.Path, fi.Size(), maxBytes), nil
	}
	// The limit also holds if the file grows while we read it.
	ref, err := s.Put(ctx, io.LimitReader(f, maxBytes))
	if err != nil {
		return item, "", fmt.Errorf("ingest %s: %w", e.ID, err)
	}
	item.Blob = ref
	return item, "", nil
}

// openReason explains why os.Root refused a path.
func openReason(p string, err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("%s does not exist", p)
	case strings.Contains(err.Error(), "escapes"):
		return fmt.Sprintf("%s leads outside the ingest root (links must be relative and stay inside)", p)
	}
	return fmt.Sprintf("open %s: %v", p, err)
}
