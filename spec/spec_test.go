package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/task"
)

type fakeOps map[string]task.StageKind

func (o fakeOps) Lookup(op string) (task.StageKind, bool) { k, ok := o[op]; return k, ok }
func (o fakeOps) Names() []string {
	var n []string
	for k := range o {
		n = append(n, k)
	}
	return n
}

var ops = fakeOps{"wordcount": task.Map, "sum": task.Reduce, "noop": task.Map}

func TestParseFileResolveCompile(t *testing.T) {
	t.Parallel()
	j, err := ParseFile("testdata/wordcount.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := Resolve(j, "testdata"); err != nil {
		t.Fatal(err)
	}
	stages, err := Compile(j, ops)
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) != 2 || stages[0].Batch != 2 || stages[0].Timeout.D().Seconds() != 30 {
		t.Fatalf("stage 0: %+v", stages[0])
	}
	if stages[1].Kind != task.Reduce || stages[1].After[0] != "count" || stages[0].After[0] != task.InputStage {
		t.Fatalf("stage 1: %+v", stages[1])
	}
	if stages[1].Retries != DefaultRetries || stages[1].Timeout != DefaultTimeout {
		t.Fatalf("defaults not applied: %+v", stages[1])
	}
	items, err := Items(j)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 || items[2].ID != "2" || string(items[2].Data) != `"the lazy dog"` {
		t.Fatalf("items: %+v", items)
	}
}

func TestYAMLAndJSONAgree(t *testing.T) {
	t.Parallel()
	y, err := Parse("j.yaml", []byte("name: x\nweight: 2\ninput: {items: [{id: a, v: 1}, 5]}\nstages: [{op: noop, retries: 0, labels: {gpu: '1'}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := ParseJSON([]byte(`{"name":"x","weight":2,"input":{"items":[{"id":"a","v":1},5]},"stages":[{"op":"noop","retries":0,"labels":{"gpu":"1"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range []*Job{y, js} {
		st, err := Compile(j, ops)
		if err != nil {
			t.Fatal(err)
		}
		items, err := Items(j)
		if err != nil {
			t.Fatal(err)
		}
		if st[0].Retries != 0 || st[0].Labels["gpu"] != "1" || j.Weight != 2 {
			t.Fatalf("stage: %+v", st[0])
		}
		if items[0].ID != "a" || items[1].ID != "1" || string(items[1].Data) != "5" || string(items[0].Data) != `{"id":"a","v":1}` {
			t.Fatalf("items: %+v", items)
		}
	}
}

func TestBadSpecs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"invalid yaml", "name: x\nstages: [\n", []string{"j.yaml:"}},
		{"unknown field", "name: x\ninput: {items: [1]}\nstages:\n  - op: noop\n    opp: 3\n", []string{"j.yaml:5:", `unknown field "opp"`}},
		{"wrong type", "name: x\ninput: {items: [1]}\nstages:\n  - op: noop\n    batch: lots\n", []string{"j.yaml:5:", "want an integer"}},
		{"unknown op", "name: x\ninput: {items: [1]}\nstages:\n  - op: noop\n  - op: wordcnt\n", []string{"j.yaml:5:", "stages[1].op", `unknown operator "wordcnt"`, "noop"}},
		{"cycle", "input: {items: [1]}\nstages:\n  - {name: a, op: noop, after: [input, c]}\n  - {name: b, op: noop, after: [a]}\n  - {name: c, op: noop, after: [b]}\n", []string{"cycle", "a → b → c → a"}},
		{"missing stage ref", "input: {items: [1]}\nstages:\n  - {name: a, op: noop, after: [zzz]}\n", []string{"j.yaml:3:", "stages[0].after[0]", `no stage is named "zzz"`}},
		{"no input", "stages:\n  - op: noop\n", []string{"input"}},
		{"two inputs", "input: {items: [1], file: x.csv}\nstages:\n  - op: noop\n", []string{"only one of"}},
		{"no stages", "input: {items: [1]}\n", []string{"stages", "at least one"}},
		{"dup name", "input: {items: [1]}\nstages:\n  - op: noop\n  - op: noop\n", []string{"stages[1].name", "already"}},
		{"bad batch", "input: {items: [1]}\nstages:\n  - {op: noop, batch: -1}\n", []string{"stages[0].batch", "out of range"}},
		{"reduce batch", "input: {items: [1]}\nstages:\n  - {op: sum, batch: 3}\n", []string{"stages[0].batch", "reduce"}},
		{"bad duration", "input: {items: [1]}\nstages:\n  - {op: noop, timeout: soon}\n", []string{"j.yaml:3:", "soon"}},
		{"dup ids", "input: {items: [{id: a}, {id: a}]}\nstages:\n  - op: noop\n", []string{"j.yaml:1:", "input.items[1]", `"a"`}},
		{"two image inputs", "input: {images: imgs, mnist: train}\nstages:\n  - op: noop\n", []string{"only one of"}},
		{"bad mnist split", "input: {mnist: validation}\nstages:\n  - op: noop\n", []string{"j.yaml:1:", "input.mnist", "train or test"}},
		{"negative limit", "input: {fashion_mnist: test, limit: -3}\nstages:\n  - op: noop\n", []string{"input.limit", "negative"}},
		{"limit without images", "input: {items: [1], limit: 3}\nstages:\n  - op: noop\n", []string{"input.limit", "image inputs"}},
		{"unresolved images", "input: {images: imgs}\nstages:\n  - op: noop\n", []string{"ingested by the client"}},
		{"not a mapping", "- 1\n- 2\n", []string{"mapping"}},
		{"empty", "\n", []string{"empty"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := func() error {
				j, err := Parse("j.yaml", []byte(c.yaml))
				if err != nil {
					return err
				}
				if _, err := Compile(j, ops); err != nil {
					return err
				}
				_, err = Items(j)
				return err
			}()
			if err == nil {
				t.Fatal("got no error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %q does not match ErrInvalid", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestResolveInputs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.jsonl", "{\"id\": 7, \"x\": 1}\n\n{\"x\": 2}\n")
	write("b.csv", "id,text\nr1,hello\nr2,\"a, b\"\n")
	write("imgs/cat/1.png", "x")
	write("imgs/dog/2.png", "y")
	write("imgs/dog/notes.txt", "z")
	write("bad.jsonl", "{\"x\": 1}\n{oops\n")
	write("bad.csv", "a,b\n1,2\n3\n")

	resolve := func(in Input) ([]task.Item, error) {
		j := &Job{Input: in}
		if err := Resolve(j, dir); err != nil {
			return nil, err
		}
		return Items(j)
	}
	got, err := resolve(Input{File: "a.jsonl"})
	if err != nil || len(got) != 2 || got[0].ID != "7" || got[1].ID != "1" {
		t.Fatalf("jsonl: %+v %v", got, err)
	}
	got, err = resolve(Input{File: "b.csv"})
	if err != nil || len(got) != 2 || got[1].ID != "r2" || string(got[1].Data) != `{"id":"r2","text":"a, b"}` {
		t.Fatalf("csv: %+v %v", got, err)
	}
	got, err = resolve(Input{Glob: "imgs/**/*.png"})
	if err != nil || len(got) != 2 || got[0].ID != "imgs/cat/1.png" || !strings.Contains(string(got[1].Data), `"dir":"dog"`) {
		t.Fatalf("glob: %+v %v", got, err)
	}
	for name, want := range map[string]string{
		"bad.jsonl":      "bad.jsonl:2:",
		"bad.csv":        "bad.csv:3:",
		"missing.jsonl":  "does not exist",
		"imgs/cat/1.png": "set input.format",
	} {
		_, err := resolve(Input{File: name})
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want an ErrInvalid mentioning %q", name, err, want)
		}
	}
	if _, err := resolve(Input{Glob: "nothing/*.png"}); err == nil || !strings.Contains(err.Error(), "matches no files") {
		t.Errorf("empty glob: got %v", err)
	}
}

// speculate: false turns speculation off for a stage, or for every stage
// of a job that does not say otherwise.
func TestSpeculateSetting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		doc  string
		want []bool // NoSpeculate per stage
	}{
		{"stages: [{name: a, op: noop}, {name: b, op: noop}]", []bool{false, false}},
		{"stages: [{name: a, op: noop, speculate: false}, {name: b, op: noop}]", []bool{true, false}},
		{"speculate: false\nstages: [{name: a, op: noop}, {name: b, op: noop, speculate: true}]", []bool{true, false}},
	} {
		j, err := Parse("j.yaml", []byte("input: {items: [1]}\n"+tc.doc+"\n"))
		if err != nil {
			t.Fatalf("%s: %v", tc.doc, err)
		}
		stages, err := Compile(j, ops)
		if err != nil {
			t.Fatalf("%s: %v", tc.doc, err)
		}
		for i, s := range stages {
			if s.NoSpeculate != tc.want[i] {
				t.Fatalf("%s: stage %d NoSpeculate=%v, want %v", tc.doc, i, s.NoSpeculate, tc.want[i])
			}
		}
	}
}
