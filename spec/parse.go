package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// source remembers where a parsed YAML spec came from so that validation
// errors can name the line of the offending field.
type source struct {
	file string
	ast  *ast.File
}

// ParseFile reads and parses a YAML or JSON job spec from a file. Relative
// input paths are later resolved against the file's directory (see Resolve).
func ParseFile(path string) (*Job, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read job spec: %w", err)
	}
	return Parse(path, data)
}

// Parse parses a YAML (or JSON) job spec. Unknown fields are errors. name is
// used in error messages.
func Parse(name string, data []byte) (*Job, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, Errors{{File: name, Msg: "the job spec is empty"}}
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, yamlError(name, err)
	}
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		return nil, Errors{{File: name, Line: 1, Msg: fmt.Sprintf("want exactly one YAML document, found %d", len(f.Docs))}}
	}
	if _, ok := f.Docs[0].Body.(*ast.MappingNode); !ok {
		tk := f.Docs[0].Body.GetToken()
		return nil, Errors{{File: name, Line: tk.Position.Line, Col: tk.Position.Column, Msg: "the job spec must be a mapping (name:, input:, stages:)"}}
	}
	var j Job
	if err := yaml.NodeToValue(f.Docs[0].Body, &j, yaml.Strict()); err != nil {
		return nil, yamlError(name, err)
	}
	j.src = &source{file: name, ast: f}
	return &j, nil
}

// ParseJSON parses a job spec sent as JSON (the API's form). Unknown fields
// are errors.
func ParseJSON(data []byte) (*Job, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var j Job
	if err := dec.Decode(&j); err != nil {
		return nil, jsonError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, Errors{{Msg: "unexpected data after the job spec"}}
	}
	return &j, nil
}

func yamlError(name string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		e := &Error{File: name, Msg: cleanYAMLMessage(ye.GetMessage())}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			e.Line, e.Col = tk.Position.Line, tk.Position.Column
		}
		return Errors{e}
	}
	return Errors{{File: name, Msg: err.Error()}}
}

// cleanYAMLMessage turns the decoder's Go-flavoured type errors into words
// a spec author understands.
func cleanYAMLMessage(msg string) string {
	if i := strings.Index(msg, "cannot unmarshal "); i >= 0 {
		rest := msg[i+len("cannot unmarshal "):]
		src, _, _ := strings.Cut(rest, " ")
		if j := strings.LastIndex(rest, " of type "); j >= 0 {
			return fmt.Sprintf("got %s, want %s", src, friendlyType(rest[j+len(" of type "):]))
		}
		if j := strings.LastIndex(rest, "Go value of type "); j >= 0 {
			return fmt.Sprintf("got %s, want %s", src, friendlyType(rest[j+len("Go value of type "):]))
		}
	}
	return msg
}

func friendlyType(t string) string {
	switch {
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "*int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "spec."):
		return "a mapping"
	case strings.Contains(t, "Duration"):
		return `a duration such as "30s"`
	}
	return t
}

func jsonError(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(data, se.Offset)
		return Errors{{Line: line, Col: col, Msg: se.Error()}}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		line, col := lineCol(data, te.Offset)
		return Errors{{Line: line, Col: col, Field: te.Field, Msg: fmt.Sprintf("got %s, want %s", te.Value, friendlyType(te.Type.String()))}}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		msg = "the job spec is empty or truncated"
	}
	return Errors{{Msg: msg}}
}

func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// locate returns the position of the field at path (e.g. "stages[1].op"),
// or of its nearest existing parent.
func (s *source) locate(path string) (line, col int) {
	if s == nil || s.ast == nil {
		return 0, 0
	}
	for p := path; p != ""; p = parentPath(p) {
		yp, err := yaml.PathString("$." + p)
		if err != nil {
			continue
		}
		n, err := yp.FilterFile(s.ast)
		if err != nil || n == nil {
			continue
		}
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			return tk.Position.Line, tk.Position.Column
		}
	}
	return 0, 0
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return ""
	}
	return p[:i]
}
