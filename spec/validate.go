package spec

import (
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/myriadhq/myriad/task"
)

// Ops tells the validator which operators exist.
type Ops interface {
	// Lookup reports whether op exists and the stage kind it defaults to.
	Lookup(op string) (task.StageKind, bool)
	// Names lists the known operators, for error hints.
	Names() []string
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// Compile validates j against the known operators and returns its stages
// with every default filled in. All problems are reported together, each
// naming its field (and line, for YAML specs).
func Compile(j *Job, ops Ops) ([]task.Stage, error) {
	v := &validator{src: j.src}
	if j.src != nil {
		v.file = j.src.file
	}
	if j.Name != "" && !nameRE.MatchString(j.Name) {
		v.add("name", "%q is not a valid name (letters, digits, _ . -; at most 63)", j.Name)
	}
	if j.Weight < 0 || j.Weight > 1000 {
		v.add("weight", "%v is out of range (0 < weight <= 1000)", j.Weight)
	}
	if j.Priority < -1000 || j.Priority > 1000 {
		v.add("priority", "%d is out of range (-1000..1000)", j.Priority)
	}
	v.input(&j.Input)
	if len(j.Stages) == 0 {
		v.add("stages", "a job needs at least one stage")
	}
	stages := make([]task.Stage, len(j.Stages))
	index := map[string]int{}
	for i := range j.Stages {
		stages[i] = v.stage(i, &j.Stages[i], ops)
		if sp := cmp.Or(j.Stages[i].Speculate, j.Speculate); sp != nil && !*sp {
			stages[i].NoSpeculate = true
		}
		if n := stages[i].Name; n != "" {
			if prev, dup := index[n]; dup {
				v.add(fmt.Sprintf("stages[%d].name", i), "%q is already the name of stages[%d]", n, prev)
			} else {
				index[n] = i
			}
		}
	}
	for i := range stages {
		if stages[i].After == nil {
			stages[i].After = []string{stages[i-1].Name} // default: the previous stage
		}
		for k, a := range stages[i].After {
			field := fmt.Sprintf("stages[%d].after[%d]", i, k)
			switch _, ok := index[a]; {
			case a == task.InputStage:
			case a == stages[i].Name:
				v.add(field, "stage %q cannot take its own output", a)
			case !ok:
				v.add(field, "no stage is named %q (stages: %s)", a, strings.Join(stageNames(stages), ", "))
			}
		}
		if stages[i].Kind == task.Reduce && len(stages[i].After) > 1 && slices.Contains(stages[i].After, task.InputStage) {
			v.add(fmt.Sprintf("stages[%d].after", i), "a reduce stage takes either the job's input or other stages, not both")
		}
	}
	if pc, ok := ops.(ParamChecker); ok {
		for i := range stages {
			if _, known := ops.Lookup(stages[i].Op); !known {
				continue
			}
			for _, pe := range pc.CheckStage(&j.Stages[i], &stages[i]) {
				field := fmt.Sprintf("stages[%d].params", i)
				if pe.Field != "" {
					field += "." + pe.Field
				}
				v.add(field, "%s", pe.Msg)
			}
		}
	}
	if len(v.errs) == 0 {
		if cycle := findCycle(stages, index); cycle != nil {
			v.add(fmt.Sprintf("stages[%d].after", index[cycle[0]]), "stages form a cycle: %s", strings.Join(cycle, " → "))
		}
	}
	if len(v.errs) == 0 {
		stages = expand(v, stages, ops)
	}
	if err := v.errs.err(); err != nil {
		return nil, err
	}
	return stages, nil
}

type validator struct {
	file string
	src  *source
	errs Errors
}

func (v *validator) add(field, format string, args ...any) {
	line, col := v.src.locate(field)
	v.errs = append(v.errs, &Error{File: v.file, Line: line, Col: col, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) input(in *Input) {
	set := 0
	if in.Items != nil {
		set++
	}
	if in.File != "" {
		set++
	}
	if in.Glob != "" {
		set++
	}
	for _, f := range []string{in.Images, in.Manifest, in.MNIST, in.FashionMNIST} {
		if f != "" {
			set++
		}
	}
	switch {
	case set == 0:
		v.add("input", "give the job's items as input.items, input.file, input.glob, or images as input.images, input.manifest, input.mnist or input.fashion_mnist")
	case set > 1:
		v.add("input", "give only one of items, file, glob, images, manifest, mnist and fashion_mnist")
	case in.Items != nil && len(in.Items) == 0:
		v.add("input.items", "the list is empty")
	}
	if in.Format != "" && !slices.Contains(formats, in.Format) {
		v.add("input.format", "unknown format %q (want one of %s)", in.Format, strings.Join(formats, ", "))
	}
	if in.Format != "" && in.File == "" {
		v.add("input.format", "format applies to input.file only")
	}
	for _, f := range []struct{ name, v string }{{"mnist", in.MNIST}, {"fashion_mnist", in.FashionMNIST}} {
		if f.v != "" && f.v != "train" && f.v != "test" {
			v.add("input."+f.name, "unknown split %q (want train or test)", f.v)
		}
	}
	if in.Limit < 0 {
		v.add("input.limit", "must not be negative, got %d", in.Limit)
	}
	if in.Limit != 0 && !in.ImageInput() {
		v.add("input.limit", "limit applies to image inputs (images, manifest, mnist, fashion_mnist) only")
	}
}

func (v *validator) stage(i int, s *Stage, ops Ops) task.Stage {
	at := func(f string) string { return fmt.Sprintf("stages[%d].%s", i, f) }
	out := task.Stage{
		Name: s.Name, Op: s.Op, Kind: s.Kind, Batch: s.Batch,
		Labels: s.Labels, After: s.After, Retries: DefaultRetries,
	}
	if s.Op == "" {
		v.add(at("op"), "missing: every stage names its operator")
	} else if kind, ok := ops.Lookup(s.Op); !ok {
		v.add(at("op"), "unknown operator %q (known: %s; a worker registers its own operators when it connects)", s.Op, strings.Join(sorted(ops.Names()), ", "))
	} else if out.Kind == "" {
		out.Kind = kind
	}
	if out.Name == "" {
		out.Name = s.Op
	}
	if out.Name != "" && !nameRE.MatchString(out.Name) {
		v.add(at("name"), "%q is not a valid name (letters, digits, _ . -; at most 63)", out.Name)
	} else if out.Name == task.InputStage {
		v.add(at("name"), "%q is reserved for the job's input", out.Name)
	}
	switch out.Kind {
	case "":
		out.Kind = task.Map
	case task.Map, task.Reduce:
	default:
		v.add(at("kind"), "unknown kind %q (want map or reduce)", out.Kind)
	}
	switch {
	case s.Batch < 0 || s.Batch > MaxBatch:
		v.add(at("batch"), "%d is out of range (1..%d)", s.Batch, MaxBatch)
	case s.Batch > 0 && out.Kind == task.Reduce:
		v.add(at("batch"), "a reduce stage takes all its items in one microtask; remove batch")
	case s.Batch == 0:
		out.Batch = DefaultBatch
	}
	if s.Retries != nil {
		out.Retries = *s.Retries
		if out.Retries < 0 || out.Retries > MaxRetries {
			v.add(at("retries"), "%d is out of range (0..%d)", out.Retries, MaxRetries)
		}
	}
	out.Timeout = v.duration(at("timeout"), s.Timeout, DefaultTimeout)
	out.Backoff = v.duration(at("backoff"), s.Backoff, DefaultBackoff)
	for k := range s.Labels {
		if k == "" {
			v.add(at("labels"), "a label needs a name")
		}
	}
	if s.Params != nil {
		b, err := json.Marshal(s.Params)
		if err != nil {
			v.add(at("params"), "cannot be encoded as JSON: %v", err)
		}
		out.Params = b
	}
	if out.After == nil && i == 0 {
		out.After = []string{task.InputStage}
	}
	if len(s.After) == 0 && s.After != nil {
		v.add(at("after"), "the list is empty; name at least one stage or %q", task.InputStage)
	}
	seen := map[string]bool{}
	for k, a := range out.After {
		if seen[a] {
			v.add(fmt.Sprintf("stages[%d].after[%d]", i, k), "%q is listed twice", a)
		}
		seen[a] = true
	}
	return out
}

func (v *validator) duration(field, s string, def task.Duration) task.Duration {
	if s == "" {
		return def
	}
	var d task.Duration
	if err := d.UnmarshalText([]byte(s)); err != nil {
		v.add(field, "%v", err)
		return def
	}
	if d == 0 {
		v.add(field, "must be more than zero")
	}
	return d
}

func stageNames(stages []task.Stage) []string {
	names := make([]string, len(stages))
	for i, s := range stages {
		names[i] = s.Name
	}
	return names
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// findCycle returns the stage names along a cycle, first repeated at the
// end, or nil if the stages form a DAG.
func findCycle(stages []task.Stage, index map[string]int) []string {
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(stages))
	var stack []int
	var cycle []string
	var visit func(i int) bool
	visit = func(i int) bool {
		color[i] = grey
		stack = append(stack, i)
		for _, a := range stages[i].After {
			j, ok := index[a]
			if !ok {
				continue
			}
			if color[j] == grey {
				// stack runs against the data flow (a stage, then what it
				// takes from); report it in flow order.
				start := slices.Index(stack, j)
				cycle = append(cycle, stages[j].Name)
				for k := len(stack) - 1; k >= start; k-- {
					cycle = append(cycle, stages[stack[k]].Name)
				}
				return true
			}
			if color[j] == white && visit(j) {
				return true
			}
		}
		stack = stack[:len(stack)-1]
		color[i] = black
		return false
	}
	for i := range stages {
		if color[i] == white && visit(i) {
			return cycle
		}
	}
	return nil
}
