package ingest

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/myriadhq/myriad/blob"
)

// ImageExtensions are the file types Folder picks up: torchvision's
// IMG_EXTENSIONS less .ppm/.pgm (no pure-Go decoder), plus .gif. Case is
// ignored.
var ImageExtensions = []string{".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif"}

// FolderOptions configures Folder and ListFolder.
type FolderOptions struct {
	// Extensions overrides ImageExtensions (lower case, with the dot).
	Extensions []string `json:"extensions,omitempty"`
	// MaxFileBytes skips larger files; 0 means imgproc.DefaultMaxBytes.
	MaxFileBytes int64 `json:"max_file_bytes,omitempty"`
}

// ListFolder walks dir laid out as dir/<class>/**/<image>, as torchvision's
// ImageFolder reads it: the class is the top-level sub-folder, files in
// nested folders belong to it, and entries come out sorted by path.
// Differences, all reported in Skipped where a file is involved: files
// directly in dir have no class; names starting with "." are ignored;
// symbolic links are followed only to files inside dir, never to folders.
func ListFolder(ctx context.Context, dir string, opts FolderOptions) (*Listing, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("list folder: %w", err)
	}
	defer root.Close()
	exts := opts.Extensions
	if exts == nil {
		exts = ImageExtensions
	}
	l := &Listing{Root: dir}
	classes := map[string]bool{}
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			l.Skipped = append(l.Skipped, Skipped{Source: p, Reason: err.Error()})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if p == "." {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if !slices.Contains(exts, strings.ToLower(path.Ext(p))) {
			return nil
		}
		class, _, nested := strings.Cut(p, "/")
		if !nested {
			l.Skipped = append(l.Skipped, Skipped{Source: p, Reason: "file is not inside a class folder"})
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			// Stat through the root: it refuses links that lead outside.
			fi, err := root.Stat(p)
			if err != nil {
				l.Skipped = append(l.Skipped, Skipped{Source: p, Reason: openReason(p, err)})
				return nil
			}
			if !fi.Mode().IsRegular() {
				l.Skipped = append(l.Skipped, Skipped{Source: p, Reason: "symbolic link to a folder is not followed"})
				return nil
			}
		} else if !d.Type().IsRegular() {
			l.Skipped = append(l.Skipped, Skipped{Source: p, Reason: "not a regular file"})
			return nil
		}
		classes[class] = true
		l.Entries = append(l.Entries, Entry{ID: p, Path: p, Label: class, Source: p})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list folder %s: %w", dir, err)
	}
	for c := range classes {
		l.Classes = append(l.Classes, c)
	}
	slices.Sort(l.Classes)
	return l, nil
}

// Folder lists dir and stores every image in s.
func Folder(ctx context.Context, s blob.Store, dir string, opts FolderOptions) (*Result, error) {
	l, err := ListFolder(ctx, dir, opts)
	if err != nil {
		return nil, err
	}
	return load(ctx, s, l, opts.MaxFileBytes)
}

func load(ctx context.Context, s blob.Store, l *Listing, maxBytes int64) (*Result, error) {
	items, skipped, err := Load(ctx, s, l.Root, l.Entries, maxBytes)
	if err != nil {
		return nil, err
	}
	return &Result{Items: items, Skipped: append(l.Skipped, skipped...), Classes: l.Classes}, nil
}
