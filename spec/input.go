package spec

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/myriadhq/myriad/task"
)

var formats = []string{"jsonl", "csv", "json", "lines"}

// maxLine bounds one line of a JSONL or text input file.
const maxLine = 64 << 20

// Resolve reads a file or glob input into inline items, so the job can be
// sent to a coordinator that cannot see the submitter's disk. Relative
// paths are taken from baseDir (usually the spec file's directory).
func Resolve(j *Job, baseDir string) error {
	in := &j.Input
	switch {
	case in.File != "":
		path := in.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(baseDir, path)
		}
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return Errors{j.errorAt("input.file", fmt.Sprintf("%s does not exist", path))}
		}
		items, err := readFile(path, in.Format)
		if err != nil {
			return err
		}
		in.Items, in.File, in.Format = items, "", ""
	case in.Glob != "":
		items, err := readGlob(baseDir, in.Glob)
		if err != nil {
			var es Errors
			if errors.As(err, &es) {
				for _, e := range es {
					located := j.errorAt(e.Field, e.Msg)
					*e = *located
				}
			}
			return err
		}
		in.Items, in.Glob = items, ""
	}
	return nil
}

func inputErr(file string, line int, format string, args ...any) error {
	return Errors{{File: file, Line: line, Field: "input", Msg: fmt.Sprintf(format, args...)}}
}

func readFile(path, format string) ([]any, error) {
	if format == "" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".jsonl", ".ndjson":
			format = "jsonl"
		case ".csv":
			format = "csv"
		case ".json":
			format = "json"
		case ".txt", ".lines", ".text":
			format = "lines"
		default:
			return nil, inputErr(path, 0, "cannot tell the format from the extension; set input.format to one of %s", strings.Join(formats, ", "))
		}
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, inputErr(path, 0, "input file does not exist")
		}
		return nil, fmt.Errorf("open input: %w", err)
	}
	defer f.Close()
	switch format {
	case "jsonl":
		return readJSONL(path, f)
	case "csv":
		return readCSV(path, f)
	case "json":
		return readJSONArray(path, f)
	default:
		return readLines(path, f)
	}
}

func readJSONL(path string, r io.Reader) ([]any, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var items []any
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil || dec.More() {
			if err == nil {
				err = errors.New("more than one value on the line")
			}
			return nil, inputErr(path, line, "not valid JSON: %v", err)
		}
		items = append(items, v)
	}
	if err := sc.Err(); err != nil {
		return nil, inputErr(path, 0, "read: %v", err)
	}
	return items, nil
}

func readLines(path string, r io.Reader) ([]any, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var items []any
	for sc.Scan() {
		items = append(items, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, inputErr(path, 0, "read: %v", err)
	}
	return items, nil
}

func readJSONArray(path string, r io.Reader) ([]any, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read input: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var items []any
	if err := dec.Decode(&items); err != nil {
		var se *json.SyntaxError
		line := 0
		if errors.As(err, &se) {
			line, _ = lineCol(data, se.Offset)
		}
		return nil, inputErr(path, line, "want a JSON array of items: %v", err)
	}
	return items, nil
}

func readCSV(path string, r io.Reader) ([]any, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err == io.EOF {
		return nil, inputErr(path, 1, "empty CSV: want a header row")
	}
	if err != nil {
		return nil, csvErr(path, err)
	}
	for i, h := range header {
		if h == "" {
			return nil, inputErr(path, 1, "header column %d has no name", i+1)
		}
	}
	var items []any
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return items, nil
		}
		if err != nil {
			return nil, csvErr(path, err)
		}
		obj := make(map[string]any, len(rec))
		for i, v := range rec {
			obj[header[i]] = v
		}
		items = append(items, obj)
	}
}

func csvErr(path string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return inputErr(path, pe.Line, "bad CSV: %v", pe.Err)
	}
	return inputErr(path, 0, "read CSV: %v", err)
}

func readGlob(baseDir, pattern string) ([]any, error) {
	root := baseDir
	if filepath.IsAbs(pattern) {
		root, pattern = doublestar.SplitPattern(filepath.ToSlash(pattern))
	}
	if !doublestar.ValidatePattern(pattern) {
		return nil, Errors{{Field: "input.glob", Msg: fmt.Sprintf("bad pattern %q", pattern)}}
	}
	matches, err := doublestar.Glob(os.DirFS(root), pattern, doublestar.WithFilesOnly(), doublestar.WithNoFollow())
	if err != nil {
		return nil, fmt.Errorf("glob %q: %w", pattern, err)
	}
	if len(matches) == 0 {
		return nil, Errors{{Field: "input.glob", Msg: fmt.Sprintf("%q matches no files under %s", pattern, root)}}
	}
	items := make([]any, len(matches))
	for i, m := range matches {
		abs, err := filepath.Abs(filepath.Join(root, m))
		if err != nil {
			return nil, fmt.Errorf("glob: %w", err)
		}
		items[i] = map[string]any{
			"id":   m,
			"path": abs,
			"name": filepath.Base(m),
			"dir":  filepath.Base(filepath.Dir(abs)),
		}
	}
	return items, nil
}

// Items turns inline input into items with ids: an object item with the id
// field keeps that id (a string or an integer), any other item is named by
// its position ("0", "1", ...). Duplicate ids are an error.
func Items(j *Job) ([]task.Item, error) {
	in := &j.Input
	if in.File != "" || in.Glob != "" {
		return nil, Errors{{Field: "input", Msg: "file and glob inputs are read by the client; send the items inline (input.items)"}}
	}
	if in.ImageInput() {
		return nil, Errors{{Field: "input", Msg: "image inputs (images, manifest, mnist, fashion_mnist) are ingested by the client into the blob store (myriad run, myriad submit); send the resulting items inline (input.items)"}}
	}
	idField := in.IDField
	if idField == "" {
		idField = DefaultIDField
	}
	items := make([]task.Item, len(in.Items))
	seen := make(map[string]int, len(in.Items))
	var errs Errors
	for i, v := range in.Items {
		id := strconv.Itoa(i)
		if obj, ok := v.(map[string]any); ok {
			if raw, has := obj[idField]; has {
				s, ok := idString(raw)
				if !ok {
					errs = append(errs, j.errorAt(fmt.Sprintf("input.items[%d].%s", i, idField), "an id must be a non-empty string or an integer"))
					continue
				}
				id = s
			}
		}
		if prev, dup := seen[id]; dup {
			errs = append(errs, j.errorAt(fmt.Sprintf("input.items[%d]", i), fmt.Sprintf("id %q is also the id of items[%d]", id, prev)))
			continue
		}
		seen[id] = i
		b, err := json.Marshal(v)
		if err != nil {
			errs = append(errs, j.errorAt(fmt.Sprintf("input.items[%d]", i), fmt.Sprintf("cannot be encoded as JSON: %v", err)))
			continue
		}
		items[i] = task.Item{ID: id, Data: b}
		if len(errs) > 20 {
			break
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return items, nil
}

func idString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, x != ""
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return x.String(), true
		}
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case float64:
		if x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10), true
		}
	}
	return "", false
}

// errorAt builds an error for field, located in the spec's source if known.
func (j *Job) errorAt(field, msg string) *Error {
	e := &Error{Field: field, Msg: msg}
	if j.src != nil {
		e.File = j.src.file
		e.Line, e.Col = j.src.locate(field)
	}
	return e
}
