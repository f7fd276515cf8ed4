package crowd

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Answer is one annotator's answer to one question: a row of a
// question,worker,answer CSV. Label holds the CSV's answer column.
type Answer struct {
	Question string
	Worker   string
	Label    string
}

// Truth maps a question to its known label: expert ground truth for
// evaluation, or the answers of gold questions.
type Truth map[string]string

// ErrInput is returned (wrapped) for malformed input: a bad CSV header or
// row, an empty field, an unknown label, an empty answer set.
var ErrInput = errors.New("crowd: invalid input")

// ReadAnswers reads a question,worker,answer CSV. The header row is
// required; its columns may come in any order, their names are matched
// case-insensitively, and extra columns are ignored. Fields are trimmed of
// surrounding spaces and must not be empty. Errors name the line.
func ReadAnswers(r io.Reader) ([]Answer, error) {
	var out []Answer
	err := readCSV(r, []string{"question", "worker", "answer"}, func(f []string) error {
		out = append(out, Answer{Question: f[0], Worker: f[1], Label: f[2]})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read answers: %w", err)
	}
	return out, nil
}

// ReadAnswersFile reads a question,worker,answer CSV file (see ReadAnswers).
func ReadAnswersFile(path string) ([]Answer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read answers: %w", err)
	}
	defer f.Close()
	a, err := ReadAnswers(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// ReadTruth reads a question,truth CSV (header required, as ReadAnswers).
// A question listed twice with different labels is an error; listed twice
// with the same label it is accepted.
func ReadTruth(r io.Reader) (Truth, error) {
	out := Truth{}
	err := readCSV(r, []string{"question", "truth"}, func(f []string) error {
		if prev, ok := out[f[0]]; ok && prev != f[1] {
			return fmt.Errorf("%w: question %q has two truths, %q and %q", ErrInput, f[0], prev, f[1])
		}
		out[f[0]] = f[1]
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read truth: %w", err)
	}
	return out, nil
}

// ReadTruthFile reads a question,truth CSV file (see ReadTruth).
func ReadTruthFile(path string) (Truth, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read truth: %w", err)
	}
	defer f.Close()
	t, err := ReadTruth(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// readCSV reads a CSV with a header naming at least the wanted columns and
// calls row with those columns' trimmed values, in the wanted order.
func readCSV(r io.Reader, want []string, row func(fields []string) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked below, with a clearer message
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: empty file, want a header %s", ErrInput, strings.Join(want, ","))
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInput, err)
	}
	width := len(header)
	col := make([]int, len(want))
	for i, name := range want {
		col[i] = -1
		for j, h := range header {
			h = strings.TrimPrefix(h, "\ufeff") // a UTF-8 byte order mark from spreadsheet exports
			if strings.EqualFold(strings.TrimSpace(h), name) {
				col[i] = j
				break
			}
		}
		if col[i] < 0 {
			return fmt.Errorf("%w: line 1: header %q has no %q column (want %s)",
				ErrInput, strings.Join(header, ","), name, strings.Join(want, ","))
		}
	}
	fields := make([]string, len(want))
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInput, err) // csv.ParseError names the line
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != width {
			return fmt.Errorf("%w: line %d: %d fields, want %d as in the header", ErrInput, line, len(rec), width)
		}
		for i, c := range col {
			fields[i] = strings.TrimSpace(rec[c])
			if fields[i] == "" {
				return fmt.Errorf("%w: line %d: empty %s", ErrInput, line, want[i])
			}
		}
		if err := row(fields); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
}
