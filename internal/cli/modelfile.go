package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"

	"github.com/myriadhq/myriad/spec"
)

// inlineModelFiles replaces params.model_file (a model spec file, such as
// examples/models/mnist-cnn.yaml, relative to the job spec) by its
// contents as params.model, so the coordinator and workers, which cannot
// see the submitter's disk, get the network inline.
func inlineModelFiles(j *spec.Job, dir string) error {
	for i := range j.Stages {
		p := j.Stages[i].Params
		v, ok := p["model_file"]
		if !ok {
			continue
		}
		field := fmt.Sprintf("stages[%d].params.model_file", i)
		name, ok := v.(string)
		if !ok || name == "" {
			return badInput(fmt.Errorf("%s: want a file name", field))
		}
		if _, both := p["model"]; both {
			return badInput(fmt.Errorf("%s: give model or model_file, not both", field))
		}
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		raw, err := os.ReadFile(name)
		if err != nil {
			return badInput(fmt.Errorf("%s: %w", field, err))
		}
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return badInput(fmt.Errorf("%s: %s: %w", field, name, err))
		}
		var model map[string]any
		if err := json.Unmarshal(js, &model); err != nil {
			return badInput(fmt.Errorf("%s: %s: want a model spec (input, layers, ...): %w", field, name, err))
		}
		delete(p, "model_file")
		p["model"] = model
	}
	return nil
}
