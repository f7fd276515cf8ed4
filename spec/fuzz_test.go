package spec

import (
	"bytes"
	"errors"
	"testing"

	"github.com/myriadhq/myriad/task"
)

type fuzzOps map[string]task.StageKind

func (o fuzzOps) Lookup(op string) (task.StageKind, bool) { k, ok := o[op]; return k, ok }
func (o fuzzOps) Names() []string                         { return []string{"exec", "noop", "sum"} }

var someOps = fuzzOps{"noop": task.Map, "sum": task.Reduce, "exec": task.Map}

// checkJob runs what a coordinator runs on a parsed spec: it must answer
// with a spec error or a job, never panic or fail otherwise.
func checkJob(t *testing.T, j *Job, err error) {
	if err != nil {
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("parse error is not ErrInvalid: %v", err)
		}
		return
	}
	if _, err := Compile(j, someOps); err != nil && !errors.Is(err, ErrInvalid) {
		t.Fatalf("compile error is not ErrInvalid: %v", err)
	}
	if _, err := Items(j); err != nil && !errors.Is(err, ErrInvalid) {
		t.Fatalf("items error is not ErrInvalid: %v", err)
	}
}

// FuzzParse: the YAML job spec parser (a submitter's file, or a YAML
// body of POST /v1/jobs).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"name: x\ninput: {items: [1, 2]}\nstages:\n  - op: noop\n",
		"input: {items: [{id: a, v: 1}, {id: a}]}\nstages: [{op: noop, batch: 3}, {op: sum, after: [noop]}]\n",
		"input: {file: x.csv}\nstages: [{name: a, op: noop, after: [input, b]}, {name: b, op: noop, after: [a]}]\n",
		"stages: [{op: exec, params: {command: [sh, -c, x]}, timeout: 1s, retries: 2, backoff: 10ms}]\ninput: {items: [a]}\n",
		"a: &a [*a, *a]\n", "name: [\n", "input: {items: 3}\n", "priority: 9999999999999999999999\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := Parse("fuzz.yaml", data)
		checkJob(t, j, err)
	})
}

// FuzzParseJSON: the JSON body of POST /v1/jobs.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"x","input":{"items":[1,2]},"stages":[{"op":"noop"}]}`,
		`{"input":{"items":[{"id":"a"},{"id":"a"}]},"stages":[{"op":"sum","after":["input"]}]}`,
		`{"stages":[{"op":"noop","batch":-1,"timeout":"x"}]}`, `{"input":{"items":[`, `[]`, `null`, `{"priority":1e400}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := ParseJSON(data)
		checkJob(t, j, err)
	})
}

// FuzzInputFile: the CSV and JSONL input readers (input.file); errors
// name the file.
func FuzzInputFile(f *testing.F) {
	for _, s := range []string{
		"id,text\n1,hello\n2,\"a, b\"\n", "a,b\n1\n", "\"unterminated\n", "\ufeffx\n1\n",
		`{"id":"a"}` + "\n" + `{"id":"b","v":[1,2]}` + "\n", "{bad\n", "\n\n1\n\"s\"\n",
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, csv bool) {
		var items []any
		var err error
		if csv {
			items, err = readCSV("in.csv", bytes.NewReader(data))
		} else {
			items, err = readJSONL("in.jsonl", bytes.NewReader(data))
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("input error is not ErrInvalid: %v", err)
			}
			return
		}
		j := &Job{Input: Input{Items: items}}
		if _, err := Items(j); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("items error is not ErrInvalid: %v", err)
		}
	})
}
