package spec

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid matches (with errors.Is) every error that means the spec
// itself is wrong, as opposed to an I/O failure.
var ErrInvalid = errors.New("invalid job spec")

// Error is one problem in a spec, located as precisely as known.
type Error struct {
	File  string // file name, if the spec came from a file
	Line  int    // 1-based; 0 if unknown
	Col   int
	Field string // path such as stages[1].op; "" for syntax errors
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, "%d:", e.Col)
		}
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Errors is every problem found in one spec.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

func (es Errors) Is(target error) bool { return target == ErrInvalid }

// err returns es as an error, or nil if empty.
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}
