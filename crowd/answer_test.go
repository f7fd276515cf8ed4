package crowd

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadAnswers(t *testing.T) {
	t.Parallel()
	in := "\ufeffWorker, extra ,Answer,Question\n" +
		"w1,x, yes ,q1\n" +
		"w2,,\"no, really\",q1\n"
	got, err := ReadAnswers(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Answer{{"q1", "w1", "yes"}, {"q1", "w2", "no, really"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestReadAnswersErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"empty file", "", "empty file"},
		{"no header column", "question,worker,label\nq,w,a\n", `no "answer" column`},
		{"data without header", "q1,w1,yes\n", `line 1`},
		{"short row", "question,worker,answer\nq,w,a\nq,w\n", "line 3: 2 fields, want 3"},
		{"long row", "question,worker,answer\nq,w,a,b\n", "line 2: 4 fields"},
		{"empty worker", "question,worker,answer\nq,w,a\nq, ,a\n", "line 3: empty worker"},
		{"empty answer", "question,worker,answer\nq,w,\n", "line 2: empty answer"},
		{"bad quote", "question,worker,answer\nq,w,\"a\n", "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ReadAnswers(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("no error, want one containing %q", tt.want)
			}
			if !errors.Is(err, ErrInput) {
				t.Errorf("error %v is not ErrInput", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestReadTruth(t *testing.T) {
	t.Parallel()
	got, err := ReadTruth(strings.NewReader("question,truth\nq1,a\nq2,b\nq1,a\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Truth{"q1": "a", "q2": "b"}); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	_, err = ReadTruth(strings.NewReader("question,truth\nq1,a\nq2,b\nq1,b\n"))
	if err == nil || !strings.Contains(err.Error(), "line 4") || !strings.Contains(err.Error(), "two truths") {
		t.Fatalf("conflicting truth: error %v, want line 4 and two truths", err)
	}
	_, err = ReadTruth(strings.NewReader("question,answer\nq1,a\n"))
	if err == nil || !strings.Contains(err.Error(), `no "truth" column`) {
		t.Fatalf("missing column: error %v", err)
	}
}

func TestReadFilesNamePath(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "answers.csv")
	if err := os.WriteFile(path, []byte("question,worker,answer\nq,w\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ReadAnswersFile(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("error %v, want the path and line 2", err)
	}
	if _, err := ReadTruthFile(filepath.Join(t.TempDir(), "missing.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: error %v, want ErrNotExist", err)
	}
}
