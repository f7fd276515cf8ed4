package cli

import (
	"context"
	"path/filepath"

	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/ops/mlops"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
)

// loadJob parses a job file, reads its input files and checks it against
// the operators known, so errors name the file's lines before anything is
// sent.
func loadJob(path string, known spec.Ops) (*spec.Job, error) {
	j, err := spec.ParseFile(path)
	if err != nil {
		return nil, err
	}
	if err := inlineModelFiles(j, filepath.Dir(path)); err != nil {
		return nil, err
	}
	if _, err := spec.Compile(j, known); err != nil {
		return nil, err
	}
	if err := spec.Resolve(j, filepath.Dir(path)); err != nil {
		return nil, err
	}
	if _, err := spec.Items(j); err != nil {
		return nil, err
	}
	return j, nil
}

// remoteOps asks the coordinator which operators it knows.
func remoteOps(ctx context.Context, c *client.Client) (spec.Ops, error) {
	list, err := c.Ops(ctx)
	if err != nil {
		return nil, err
	}
	m := opNames{}
	for _, o := range list {
		m[o.Name] = task.Map
		if o.Reduce {
			m[o.Name] = task.Reduce
		}
	}
	return m, nil
}

// opNames maps operator names to their default stage kind.
type opNames map[string]task.StageKind

// CheckStage checks the params of the operators the CLI knows (human
// stages), so their errors name the spec file's lines before anything
// is sent (see spec.ParamChecker).
func (o opNames) CheckStage(raw *spec.Stage, s *task.Stage) []spec.ParamError {
	if s.Op == human.Op {
		return human.CheckStage(raw, s)
	}
	if info, ok := mlops.CoordOps()[s.Op]; ok && info.Check != nil {
		return info.Check(raw, s)
	}
	return nil
}

func (o opNames) Lookup(op string) (task.StageKind, bool) { k, ok := o[op]; return k, ok }
func (o opNames) Names() []string {
	out := make([]string, 0, len(o))
	for n := range o {
		out = append(out, n)
	}
	return out
}
