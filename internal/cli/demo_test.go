package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/myriadhq/myriad/examples"
	"github.com/myriadhq/myriad/spec"
)

// loadDemo loads the embedded demo job as `myriad demo` does.
func loadDemo(t *testing.T) *spec.Job {
	t.Helper()
	path := filepath.Join(t.TempDir(), "demo.yaml")
	if err := os.WriteFile(path, examples.Demo, 0o644); err != nil {
		t.Fatal(err)
	}
	j, err := loadJob(path, localOps())
	if err != nil {
		t.Fatalf("the embedded demo job does not load: %v", err)
	}
	return j
}

func stageParams(t *testing.T, j *spec.Job, op string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, s := range j.Stages {
		if s.Op == op {
			out = append(out, s.Params)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s stage", op)
	}
	return out
}

func TestDemoJobAdapts(t *testing.T) {
	t.Parallel()
	j := loadDemo(t)
	if j.Input.MNIST != "train" || j.Input.Limit != 2000 || humanK(j) != 3 {
		t.Fatalf("demo input %+v, k %d", j.Input, humanK(j))
	}
	if err := adaptDemo(j, true, "mnist"); err != nil {
		t.Fatal(err)
	}
	if j.Input.Limit != 0 || j.Name != "demo-full" {
		t.Errorf("--full: job %s kept input.limit %d", j.Name, j.Input.Limit)
	}
	if d := stageParams(t, j, "predict")[0]["data"].(map[string]any); d["limit"] != nil {
		t.Errorf("--full kept predict's limit: %v", d)
	}
	if _, err := spec.Compile(j, localOps()); err != nil {
		t.Errorf("--full job: %v", err)
	}

	f := loadDemo(t)
	if err := adaptDemo(f, false, "fashion-mnist"); err != nil {
		t.Fatal(err)
	}
	if f.Input.FashionMNIST != "train" || f.Input.MNIST != "" || f.Input.Limit != 2000 || f.Name != "demo-fashion" {
		t.Errorf("fashion input %+v", f.Input)
	}
	if d := stageParams(t, f, "predict")[0]["data"].(map[string]any); d["dataset"] != "fashion-mnist" {
		t.Errorf("fashion predict data %v", d)
	}
	for _, p := range stageParams(t, f, "pack") {
		if cl := p["classes"].([]any); len(cl) != 10 || cl[0] != "T-shirt/top" {
			t.Errorf("fashion pack classes %v", cl)
		}
		if pre := p["preprocess"].(map[string]any); pre["mean"].([]any)[0] != 0.2860 {
			t.Errorf("fashion pack preprocess %v", pre)
		}
	}
	if got := humanLabels(&spec.Stage{Params: stageParams(t, f, "human")[0]}); len(got) != 10 || got[9] != "Ankle boot" {
		t.Errorf("fashion human labels %v", got)
	}
	if _, err := spec.Compile(f, localOps()); err != nil {
		t.Errorf("fashion job: %v", err)
	}
}
