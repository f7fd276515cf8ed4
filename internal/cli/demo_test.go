package cli

import (
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/examples"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
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

// The demo's ETA: the coordinator's estimate for the stages it has timed,
// plus the stages not timed yet at the job's mean microtask, plus people
// at their pace; a human stage whose items have not come is unknown.
func TestDemoETA(t *testing.T) {
	t.Parallel()
	r := newDemoReport(io.Discard)
	r.k, r.annotators, r.answerTime = 3, 5, time.Second
	st := &api.JobStatus{
		ETA: &api.ETA{RemainingS: 10, Capacity: 2, Known: false},
		Stages: []api.StageStatus{
			{Name: "prep", Op: "preprocess", State: task.StageDone, MeanMS: 1000, Counts: task.Counts{Done: 4}},
			{Name: "fold", Op: "ml.fold", State: task.StageRunning, MeanMS: 3000, Counts: task.Counts{Done: 2, Running: 1}, Expected: 3},
			{Name: "rounds", Op: "ml.round", State: task.StageWaiting, Expected: 4},
			{Name: "label", Op: "human", State: task.StageWaiting},
		},
	}
	left, guessed, unknown := r.eta(st)
	// Mean microtask (4×1 s + 2×3 s) / 6 = 5/3 s; rounds: 4 of them on 2 slots.
	want := 10 + 4*(5.0/3)/2
	if math.Abs(left-want) > 1e-9 || len(guessed) != 1 || guessed[0] != "rounds" || len(unknown) != 1 || unknown[0] != "label" {
		t.Fatalf("eta = %v %v %v; want %v [rounds] [label]", left, guessed, unknown, want)
	}
	// People have their items: 30 to label, 3 answers each, 5 annotators
	// at 1 s before the first answers.
	st.Stages[3].State = task.StageRunning
	st.Human = []api.HumanStageStatus{{Stage: "label", State: "collecting", Items: 30, Model: 70}}
	left, _, unknown = r.eta(st)
	if len(unknown) != 0 || math.Abs(left-(want+30*3*1.0/5)) > 1e-9 {
		t.Fatalf("eta with people = %v %v; want %v", left, unknown, want+18)
	}
}
