package imgproc_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/imgproc"
)

func TestPipelineValidateNamesFields(t *testing.T) {
	t.Parallel()
	half := 1.5
	for _, tc := range []struct {
		name string
		p    imgproc.Pipeline
		want []string
	}{
		{"unknown op", imgproc.Pipeline{Steps: []imgproc.Step{{Op: "blur"}}}, []string{`steps[0].op: unknown op "blur"`}},
		{"size missing", imgproc.Pipeline{Steps: []imgproc.Step{{Op: "resize"}}}, []string{"steps[0] (resize).size: want [s] or [h, w], got 0 values"}},
		{"size too big", imgproc.Pipeline{Steps: []imgproc.Step{{Op: "center_crop", Size: []int{224, 100000}}}}, []string{"steps[0] (center_crop).size[1]: must be in 1..8192"}},
		{"field of another op", imgproc.Pipeline{Steps: []imgproc.Step{{Op: "hflip", Degrees: []float64{1, 2}}}}, []string{"steps[0] (hflip).degrees: does not apply to hflip"}},
		{"bad p", imgproc.Pipeline{Steps: []imgproc.Step{{Op: "vflip", P: &half}}}, []string{"steps[0] (vflip).p: must be in [0, 1]"}},
		{"rotate range", imgproc.Pipeline{Steps: []imgproc.Step{{Op: "rotate", Degrees: []float64{10, -10}}}}, []string{"steps[0] (rotate).degrees: want [lo, hi]"}},
		{"grayscale channels", imgproc.Pipeline{Steps: []imgproc.Step{{Op: "grayscale", Channels: 2}}}, []string{"steps[0] (grayscale).channels: must be 1 or 3"}},
		{"interpolation", imgproc.Pipeline{Steps: []imgproc.Step{{Op: "resize", Size: []int{8}, Interpolation: "fancy"}}}, []string{`steps[0] (resize).interpolation: unknown "fancy"`}},
		{"mean for gray", imgproc.Pipeline{
			Steps:  []imgproc.Step{{Op: "grayscale", Channels: 1}},
			Output: imgproc.Output{Mean: imgproc.ImageNetMean, Std: imgproc.ImageNetStd},
		}, []string{"output.mean: 3 values for 1 output channels", "output.std: 3 values for 1 output channels"}},
		{"zero std", imgproc.Pipeline{Output: imgproc.Output{Mean: []float64{0, 0, 0}, Std: []float64{1, 0, 1}}}, []string{"output.std[1]: must be positive"}},
		{"png with mean", imgproc.Pipeline{Output: imgproc.Output{Format: "png", Mean: []float64{0, 0, 0}, Std: []float64{1, 1, 1}}}, []string{"output: mean/std apply only"}},
		{"format", imgproc.Pipeline{Output: imgproc.Output{Format: "jpeg"}}, []string{`output.format: unknown format "jpeg"`}},
		{"several at once", imgproc.Pipeline{Steps: []imgproc.Step{{Op: "resize"}, {Op: "scale"}}}, []string{"steps[0] (resize).size", "steps[1] (scale).scale: required"}},
	} {
		err := tc.p.Validate()
		if err == nil {
			t.Errorf("%s: Validate passed, want errors %q", tc.name, tc.want)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", tc.name, err, w)
			}
		}
	}
}

// The pipeline of the source document's example, as a job spec would
// carry it, round-trips through JSON and validates.
func TestParsePipeline(t *testing.T) {
	t.Parallel()
	spec := `{"steps": [{"op": "resize", "size": [256]}, {"op": "center_crop", "size": [224]}],
	          "output": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}}`
	p, err := imgproc.ParsePipeline([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	if p.Channels() != 3 || p.Random() || len(p.Steps) != 2 || p.Steps[1].Size[0] != 224 {
		t.Fatalf("parsed %+v", p)
	}
	again, _ := json.Marshal(p)
	if _, err := imgproc.ParsePipeline(again); err != nil {
		t.Fatalf("re-parsing %s: %v", again, err)
	}
	if _, err := imgproc.ParsePipeline([]byte(`{"steps": [{"op": "resize", "szie": [8]}]}`)); err == nil || !strings.Contains(err.Error(), "szie") {
		t.Fatalf("misspelt field: error %v, want one naming szie", err)
	}
}
