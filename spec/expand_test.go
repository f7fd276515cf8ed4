package spec

import (
	"slices"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/task"
)

// expandOps unrolls "fanout" into a split map, a per-part map and a
// reduce named like the stage.
type expandOps struct{ fakeOps }

func (expandOps) ExpandStage(s *task.Stage) []task.Stage {
	if s.Op != "fanout" {
		return nil
	}
	split, part, red := *s, *s, *s
	split.Name, split.Op = ExpandedName(s.Name, "split"), "noop"
	part.Name, part.Op, part.After = ExpandedName(s.Name, "part"), "noop", []string{split.Name}
	red.Op, red.Kind, red.After = "sum", task.Reduce, []string{part.Name}
	return []task.Stage{split, part, red}
}

func TestExpandUnrollsStages(t *testing.T) {
	t.Parallel()
	ops := expandOps{fakeOps{"noop": task.Map, "sum": task.Reduce, "fanout": task.Map}}
	j, err := Parse("j.yaml", []byte("input: {items: [1]}\nstages:\n  - {name: cv, op: fanout}\n  - {name: after, op: noop}\n"))
	if err != nil {
		t.Fatal(err)
	}
	stages, err := Compile(j, ops)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range stages {
		got = append(got, s.Name+"<"+strings.Join(s.After, ",")+">"+string(s.Kind))
	}
	want := []string{"cv.split<input>map", "cv.part<cv.split>map", "cv<cv.part>reduce", "after<cv>map"}
	if !slices.Equal(got, want) {
		t.Fatalf("expanded stages:\n got %v\nwant %v", got, want)
	}

	// A user stage may not take a name an expansion needs.
	j, err = Parse("j.yaml", []byte("input: {items: [1]}\nstages:\n  - {name: cv.part, op: noop}\n  - {name: cv, op: fanout}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compile(j, ops)
	if err == nil || !strings.Contains(err.Error(), "stages[0].name") || !strings.Contains(err.Error(), `"cv.part"`) {
		t.Fatalf("clashing name: got %v, want an error naming stages[0].name", err)
	}
}
