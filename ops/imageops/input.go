package imageops

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc"
	"github.com/myriadhq/myriad/imgproc/ingest"
	"github.com/myriadhq/myriad/ml/dataset"
	"github.com/myriadhq/myriad/spec"
)

// uploaders is how many images ResolveInput stores at once: uploads to a
// coordinator are round trips, not CPU work.
const uploaders = 8

// InputReport says what ResolveInput stored.
type InputReport struct {
	// Items is the number of images that became job items.
	Items int
	// Skipped lists files left out (unreadable, outside a class folder,
	// bad manifest rows), with the reason.
	Skipped []ingest.Skipped
	// Classes are the distinct labels, sorted (the class index
	// torchvision's ImageFolder would give), or the data set's class
	// names in label order for MNIST and Fashion-MNIST.
	Classes []string
	// Source says what was read, for people.
	Source string
}

// ResolveInput turns a job's image input (input.images, input.manifest,
// input.mnist, input.fashion_mnist, with input.limit) into inline items
// {id, blob, label, source}, storing every image in s — the coordinator's
// blob store as seen by the client — so the job carries refs, not bytes.
// Relative paths are taken from baseDir (the spec file's folder). A job
// without an image input is left alone. Files that cannot be read are
// skipped and listed in the report; a missing folder, a bad manifest
// header or a failing store is an error. Images the store already holds
// are not sent again.
func ResolveInput(ctx context.Context, s blob.Store, j *spec.Job, baseDir string) (*InputReport, error) {
	in := &j.Input
	if !in.ImageInput() {
		return nil, nil
	}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(baseDir, p)
	}
	s = skipKnown{s}
	var (
		res *ingest.Result
		rep = &InputReport{}
		err error
	)
	switch {
	case in.Images != "":
		rep.Source = abs(in.Images)
		var l *ingest.Listing
		if l, err = ingest.ListFolder(ctx, rep.Source, ingest.FolderOptions{}); err != nil {
			return nil, fmt.Errorf("input.images: %w", err)
		}
		res, err = loadListing(ctx, s, l, in.Limit)
	case in.Manifest != "":
		rep.Source = abs(in.Manifest)
		var l *ingest.Listing
		if l, err = ingest.ListManifest(ctx, rep.Source, ingest.ManifestOptions{}); err != nil {
			return nil, fmt.Errorf("input.manifest: %w", err)
		}
		res, err = loadListing(ctx, s, l, in.Limit)
	case in.MNIST != "":
		dir, derr := dataset.MNISTDir()
		if derr != nil {
			return nil, fmt.Errorf("input.mnist: %w", derr)
		}
		rep.Source = fmt.Sprintf("MNIST %s split (%s)", in.MNIST, dir)
		res, err = loadIDX(ctx, s, dir, in.MNIST, "mnist-"+in.MNIST, ingest.MNISTClasses, in.Limit)
	case in.FashionMNIST != "":
		dir, derr := dataset.FashionMNISTDir()
		if derr != nil {
			return nil, fmt.Errorf("input.fashion_mnist: %w", derr)
		}
		rep.Source = fmt.Sprintf("Fashion-MNIST %s split (%s)", in.FashionMNIST, dir)
		res, err = loadIDX(ctx, s, dir, in.FashionMNIST, "fashion-"+in.FashionMNIST, ingest.FashionMNISTClasses, in.Limit)
	}
	if err != nil {
		return nil, err
	}
	items := make([]any, 0, len(res.Items))
	for _, im := range res.Items {
		b, err := json.Marshal(im)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		items = append(items, m)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("input: %s holds no readable images (%d skipped)", rep.Source, len(res.Skipped))
	}
	rep.Items, rep.Skipped, rep.Classes = len(items), res.Skipped, res.Classes
	*in = spec.Input{Items: items}
	return rep, nil
}

// loadListing stores the first limit entries (0: all), several at once,
// keeping the listing's order.
func loadListing(ctx context.Context, s blob.Store, l *ingest.Listing, limit int) (*ingest.Result, error) {
	entries := l.Entries
	if limit > 0 && limit < len(entries) {
		entries = entries[:limit]
	}
	parts := split(len(entries), uploaders)
	type part struct {
		items   []imgproc.Item
		skipped []ingest.Skipped
		err     error
	}
	out := make([]part, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() {
			out[i].items, out[i].skipped, out[i].err = ingest.Load(ctx, s, l.Root, entries[p[0]:p[1]], 0)
		})
	}
	wg.Wait()
	res := &ingest.Result{Skipped: l.Skipped, Classes: l.Classes}
	for _, p := range out {
		if p.err != nil {
			return nil, p.err
		}
		res.Items = append(res.Items, p.items...)
		res.Skipped = append(res.Skipped, p.skipped...)
	}
	return res, nil
}

// loadIDX stores images of a split's IDX files (MNIST's file names) as PNG
// blobs, several at once.
func loadIDX(ctx context.Context, s blob.Store, dir, splitName, prefix string, classes []string, limit int) (*ingest.Result, error) {
	imName, lbName := "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"
	if splitName == string(dataset.Test) {
		imName, lbName = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
	}
	images, err := ingest.ReadIDXFile(filepath.Join(dir, imName))
	if err != nil {
		return nil, err
	}
	labels, err := ingest.ReadIDXFile(filepath.Join(dir, lbName))
	if err != nil {
		return nil, err
	}
	n := images.Shape[0]
	if limit > 0 && limit < n {
		n = limit
	}
	parts := split(n, uploaders)
	results := make([]*ingest.Result, len(parts))
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() {
			results[i], errs[i] = ingest.IDX(ctx, s, images, labels, ingest.IDXOptions{
				Prefix: prefix, Classes: classes, Start: p[0], Count: p[1] - p[0], Source: imName})
		})
	}
	wg.Wait()
	res := &ingest.Result{Classes: classes}
	for i, r := range results {
		if errs[i] != nil {
			return nil, errs[i]
		}
		res.Items = append(res.Items, r.Items...)
		res.Skipped = append(res.Skipped, r.Skipped...)
	}
	return res, nil
}

// split cuts [0, n) into up to k contiguous ranges.
func split(n, k int) [][2]int {
	if n == 0 {
		return nil
	}
	k = min(k, n)
	out := make([][2]int, 0, k)
	for i := range k {
		out = append(out, [2]int{i * n / k, (i + 1) * n / k})
	}
	return out
}
