package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/myriadhq/myriad/blob"
)

// ManifestOptions configures Manifest and ListManifest.
type ManifestOptions struct {
	// MaxFileBytes skips larger files; 0 means imgproc.DefaultMaxBytes.
	MaxFileBytes int64 `json:"max_file_bytes,omitempty"`
}

// manifestFields are the columns (CSV) or keys (JSONL) a manifest may use.
// Each row needs exactly one of path and blob.
var manifestFields = []string{"id", "path", "blob", "label"}

// maxLine bounds one manifest line so a file without newlines cannot make
// the reader buffer it whole.
const maxLine = 1 << 20

type row struct {
	ID    string `json:"id"`
	Path  string `json:"path"`
	Blob  string `json:"blob"`
	Label string `json:"label"`
}

// ListManifest reads a manifest: ".csv" with a header row naming some of
// id, path, blob, label; or ".jsonl"/".ndjson" with one object per line
// using those keys. Paths are relative to the manifest's folder and may
// not leave it. The id defaults to the path, or the blob ref. A bad row is
// skipped with its line number; a bad header is an error.
func ListManifest(ctx context.Context, manifest string, opts ManifestOptions) (*Listing, error) {
	f, err := os.Open(manifest)
	if err != nil {
		return nil, fmt.Errorf("list manifest: %w", err)
	}
	defer f.Close()
	name := filepath.Base(manifest)
	l := &Listing{Root: filepath.Dir(manifest)}
	switch strings.ToLower(filepath.Ext(manifest)) {
	case ".csv":
		err = readCSV(ctx, f, name, l)
	case ".jsonl", ".ndjson":
		err = readJSONL(ctx, f, name, l)
	default:
		return nil, fmt.Errorf("list manifest %s: unknown extension (want .csv, .jsonl or .ndjson)", name)
	}
	if err != nil {
		return nil, fmt.Errorf("list manifest %s: %w", name, err)
	}
	l.Classes = classesOf(l.Entries)
	return l, nil
}

// Manifest lists a manifest and stores every file it names in s.
func Manifest(ctx context.Context, s blob.Store, manifest string, opts ManifestOptions) (*Result, error) {
	l, err := ListManifest(ctx, manifest, opts)
	if err != nil {
		return nil, err
	}
	return load(ctx, s, l, opts.MaxFileBytes)
}

func readCSV(ctx context.Context, r io.Reader, name string, l *Listing) error {
	cr := csv.NewReader(bufio.NewReaderSize(io.LimitReader(r, 1<<34), 64<<10))
	cr.FieldsPerRecord = -1 // checked per row below, to skip rather than stop
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("line 1: reading header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if !slices.Contains(manifestFields, h) {
			return fmt.Errorf("line 1: unknown column %q (want %s)", h, strings.Join(manifestFields, ", "))
		}
		if _, dup := col[h]; dup {
			return fmt.Errorf("line 1: column %q appears twice", h)
		}
		col[h] = i
	}
	_, hasPath := col["path"]
	_, hasBlob := col["blob"]
	if !hasPath && !hasBlob {
		return fmt.Errorf("line 1: need a path or blob column, have %s", strings.Join(header, ", "))
	}
	b := newBuilder(name, l)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// A quoting error leaves the reader unable to tell where the
			// next row starts, so it ends the manifest (the message names
			// the line).
			return err
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			b.skip(line, fmt.Sprintf("%d fields, header has %d", len(rec), len(header)))
			continue
		}
		get := func(k string) string {
			if i, ok := col[k]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		b.add(line, row{ID: get("id"), Path: get("path"), Blob: get("blob"), Label: get("label")})
	}
	return nil
}

func readJSONL(ctx context.Context, r io.Reader, name string, l *Listing) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	b := newBuilder(name, l)
	line := 0
	for sc.Scan() {
		if err := ctx.Err(); err != nil {
			return err
		}
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		var rw row
		if err := dec.Decode(&rw); err != nil {
			b.skip(line, "invalid JSON: "+err.Error())
			continue
		}
		b.add(line, rw)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", line+1, err)
	}
	return nil
}

// builder validates rows and keeps ids unique.
type builder struct {
	name string
	l    *Listing
	seen map[string]int // id -> line
}

func newBuilder(name string, l *Listing) *builder {
	return &builder{name: name, l: l, seen: map[string]int{}}
}

func (b *builder) skip(line int, reason string) {
	b.l.Skipped = append(b.l.Skipped, Skipped{Source: fmt.Sprintf("%s:%d", b.name, line), Reason: reason})
}

func (b *builder) add(line int, r row) {
	switch {
	case r.Path == "" && r.Blob == "":
		b.skip(line, "neither path nor blob given")
		return
	case r.Path != "" && r.Blob != "":
		b.skip(line, "both path and blob given; want one")
		return
	}
	e := Entry{ID: r.ID, Label: r.Label, Source: fmt.Sprintf("%s:%d", b.name, line)}
	if r.Path != "" {
		p := filepath.ToSlash(filepath.Clean(filepath.FromSlash(r.Path)))
		if !filepath.IsLocal(filepath.FromSlash(r.Path)) {
			b.skip(line, fmt.Sprintf("path %q leaves the manifest's folder (absolute or ..)", r.Path))
			return
		}
		e.Path = p
		if e.ID == "" {
			e.ID = p
		}
	} else {
		ref, err := blob.ParseRef(r.Blob)
		if err != nil {
			b.skip(line, err.Error())
			return
		}
		e.Ref = ref
		if e.ID == "" {
			e.ID = string(ref)
		}
	}
	if first, dup := b.seen[e.ID]; dup {
		b.skip(line, fmt.Sprintf("id %q already used on line %d", e.ID, first))
		return
	}
	b.seen[e.ID] = line
	b.l.Entries = append(b.l.Entries, e)
}

func classesOf(entries []Entry) []string {
	var classes []string
	for _, e := range entries {
		if e.Label != "" {
			classes = append(classes, e.Label)
		}
	}
	slices.Sort(classes)
	return slices.Compact(classes)
}
