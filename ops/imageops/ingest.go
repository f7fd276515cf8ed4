package imageops

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc"
	"github.com/myriadhq/myriad/imgproc/ingest"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// IngestParams are an ingest stage's params.
type IngestParams struct {
	// MaxBytes bounds one file (0: imgproc.DefaultMaxBytes).
	MaxBytes int64 `json:"max_bytes,omitempty"`
}

// IngestSource is one ingest input item: exactly one of Blob (already
// stored: checked to exist), Path (a file under one of the worker's
// ingest roots) and IDX (a slice of an IDX images file).
type IngestSource struct {
	ID     string   `json:"id,omitempty"`
	Blob   blob.Ref `json:"blob,omitempty"`
	Path   string   `json:"path,omitempty"`
	Label  string   `json:"label,omitempty"`
	Source string   `json:"source,omitempty"`
	IDX    *IDXPart `json:"idx,omitempty"`
}

// IDXPart selects images [Start, Start+Count) of an IDX file pair.
type IDXPart struct {
	Images  string   `json:"images"`
	Labels  string   `json:"labels,omitempty"`
	Start   int      `json:"start,omitempty"`
	Count   int      `json:"count,omitempty"`
	Prefix  string   `json:"prefix,omitempty"`
	Classes []string `json:"classes,omitempty"`
}

// newIngest returns the ingest operator: each input item names a file, an
// IDX slice or a blob, and comes out as image items {id, blob, label}.
// A file that cannot be read comes out Dropped with the reason; a path
// outside the worker's ingest roots fails the microtask (permanently).
func newIngest(opt Options) worker.Handler {
	roots := make([]string, 0, len(opt.IngestRoots))
	for _, r := range opt.IngestRoots {
		if abs, err := filepath.Abs(r); err == nil {
			roots = append(roots, abs)
		}
	}
	return func(ctx context.Context, t *worker.Task) ([]task.Item, error) {
		var p IngestParams
		if err := t.DecodeParams(&p); err != nil {
			return nil, err
		}
		var out []task.Item
		for _, it := range t.Items {
			var src IngestSource
			if err := json.Unmarshal(it.Data, &src); err != nil {
				return nil, worker.Permanent(fmt.Errorf("item %s: want {path|blob|idx, label}: %w", it.ID, err))
			}
			if src.ID == "" {
				src.ID = it.ID
			}
			items, err := ingestOne(ctx, t.Blobs, roots, src, p.MaxBytes)
			if err != nil {
				return nil, fmt.Errorf("item %s: %w", it.ID, err)
			}
			out = append(out, items...)
		}
		return out, nil
	}
}

func ingestOne(ctx context.Context, s blob.Store, roots []string, src IngestSource, maxBytes int64) ([]task.Item, error) {
	set := 0
	for _, b := range []bool{src.Blob != "", src.Path != "", src.IDX != nil} {
		if b {
			set++
		}
	}
	if set != 1 {
		return nil, worker.Permanent(fmt.Errorf("give exactly one of path, blob and idx"))
	}
	if src.IDX != nil {
		return ingestIDX(ctx, s, roots, src.IDX)
	}
	e := ingest.Entry{ID: src.ID, Label: src.Label, Source: src.Source, Ref: src.Blob}
	root := ""
	if src.Path != "" {
		var err error
		if root, e.Path, err = underRoot(roots, src.Path); err != nil {
			return nil, err
		}
		e.Source = cmp.Or(e.Source, src.Path)
	}
	items, skipped, err := ingest.Load(ctx, s, root, []ingest.Entry{e}, maxBytes)
	if err != nil {
		return nil, err
	}
	if len(skipped) > 0 {
		im := imgproc.Item{ID: src.ID, Label: src.Label, Source: e.Source}
		o, err := output(im)
		if err != nil {
			return nil, err
		}
		o.Dropped = "unreadable: " + skipped[0].Reason
		return []task.Item{o}, nil
	}
	o, err := output(items[0])
	if err != nil {
		return nil, err
	}
	return []task.Item{o}, nil
}

func ingestIDX(ctx context.Context, s blob.Store, roots []string, part *IDXPart) ([]task.Item, error) {
	rootI, relI, err := underRoot(roots, part.Images)
	if err != nil {
		return nil, err
	}
	images := filepath.Join(rootI, relI)
	labels := ""
	if part.Labels != "" {
		rootL, relL, err := underRoot(roots, part.Labels)
		if err != nil {
			return nil, err
		}
		labels = filepath.Join(rootL, relL)
	}
	res, err := ingest.IDXFiles(ctx, s, images, labels, ingest.IDXOptions{Prefix: part.Prefix, Classes: part.Classes, Start: part.Start, Count: part.Count})
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, worker.Permanent(err)
	}
	out := make([]task.Item, 0, len(res.Items)+len(res.Skipped))
	for _, im := range res.Items {
		o, err := output(im)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	for _, sk := range res.Skipped {
		out = append(out, task.Item{ID: sk.Source, Data: json.RawMessage(`{}`), Dropped: sk.Reason})
	}
	return out, nil
}

// underRoot finds the ingest root holding path (absolute, or relative to
// the first root) and returns it with path relative to it. os.Root, used
// when the file is opened, keeps links from leading out.
func underRoot(roots []string, path string) (root, rel string, err error) {
	if len(roots) == 0 {
		return "", "", worker.Permanent(fmt.Errorf("this worker reads no local files (start it with --ingest-root FOLDER); %s", path))
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(roots[0], path)
	}
	path = filepath.Clean(path)
	for _, r := range roots {
		rel, err := filepath.Rel(r, path)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return r, filepath.ToSlash(rel), nil
		}
	}
	return "", "", worker.Permanent(fmt.Errorf("%s is outside this worker's ingest roots %v", path, roots))
}
