package mlops_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/myriadhq/myriad/ops/imageops"
	"github.com/myriadhq/myriad/ops/mlops"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
)

// knownOps are the ml operators as the coordinator sees them.
type knownOps struct{}

func (knownOps) Lookup(op string) (task.StageKind, bool) {
	for _, o := range imageops.Builtins() {
		if o.Name == op && o.Reduce {
			return task.Reduce, true
		} else if o.Name == op {
			return task.Map, true
		}
	}
	i, ok := mlops.CoordOps()[op]
	if i.Reduce {
		return task.Reduce, ok
	}
	return task.Map, ok || op == "human"
}
func (knownOps) Names() []string { return nil }
func (knownOps) CheckStage(raw *spec.Stage, s *task.Stage) []spec.ParamError {
	if i, ok := mlops.CoordOps()[s.Op]; ok && i.Check != nil {
		return i.Check(raw, s)
	}
	return nil
}
func (knownOps) ExpandStage(s *task.Stage) []task.Stage { return mlops.Expand(s) }

// TestExamplesCompile: the documented ml examples are valid job specs.
func TestExamplesCompile(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../../examples/*.yaml")
	n := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), "op: train") || filepath.Base(f) == "demo.yaml" {
			continue // demo.yaml uses operators of other packages too: internal/cli's TestDemoJobAdapts checks it
		}
		n++
		j, err := spec.Parse(f, raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range j.Stages {
			if mf, ok := s.Params["model_file"].(string); ok { // what the CLI does
				b, err := os.ReadFile(filepath.Join(filepath.Dir(f), mf))
				if err != nil {
					t.Fatal(err)
				}
				var m map[string]any
				if err := yaml.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
				delete(s.Params, "model_file")
				s.Params["model"] = m
			}
		}
		if _, err := spec.Compile(j, knownOps{}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if n < 5 {
		t.Fatalf("%d ml examples found, want at least 5", n)
	}
}
