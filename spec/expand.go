package spec

import (
	"fmt"
	"strings"

	"github.com/myriadhq/myriad/task"
)

// Expander may be implemented by the Ops given to Compile for operators
// that stand for a fixed sub-DAG of stages: k-fold cross-validation is a
// fan-out map, one microtask per fold and a reduce; data-parallel
// training with rounds: N is N rounds of (one microtask per shard, a
// merge). The engine runs jobs as a fixed DAG, so such a stage is
// unrolled once, at submit, into ordinary stages the status shows.
//
// ExpandStage returns the stages that replace s, in order, or nil to keep
// s as it is. The last returned stage must keep s's name (later stages
// name it in their after lists); the others are named s.Name + "." + a
// suffix and take their inputs from s.After or from each other. It runs
// after every other check has passed, so s is valid.
type Expander interface {
	ExpandStage(s *task.Stage) []task.Stage
}

// expand unrolls the stages ops expand; errors name the stage that made
// a clashing name.
func expand(v *validator, stages []task.Stage, ops Ops) []task.Stage {
	ex, ok := ops.(Expander)
	if !ok {
		return stages
	}
	names := map[string]int{}
	for i, s := range stages {
		names[s.Name] = i
	}
	var out []task.Stage
	for i := range stages {
		sub := ex.ExpandStage(&stages[i])
		if sub == nil {
			out = append(out, stages[i])
			continue
		}
		if last := sub[len(sub)-1].Name; last != stages[i].Name {
			panic(fmt.Sprintf("spec: expansion of stage %q ends with stage %q", stages[i].Name, last)) // an Expander bug
		}
		for _, g := range sub[:len(sub)-1] {
			if j, clash := names[g.Name]; clash {
				v.add(fmt.Sprintf("stages[%d].name", j), "%q is a name stage %q (op %s) needs for one of its parts; rename it", g.Name, stages[i].Name, stages[i].Op)
			}
			names[g.Name] = i
		}
		out = append(out, sub...)
	}
	return out
}

// ExpandedName is the name of part suffix of an expanded stage.
func ExpandedName(stage, suffix string) string {
	return stage + "." + strings.TrimPrefix(suffix, ".")
}
