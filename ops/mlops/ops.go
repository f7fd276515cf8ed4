package mlops

import (
	"encoding/json"
	"time"

	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/ml/gorgonia"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// Operators a job spec names.
const (
	OpTrain    = "train"
	OpEvaluate = "evaluate"
	OpPredict  = "predict"
	OpCrossval = "crossval"
	OpSearch   = "search"
)

// Operators of the stages crossval, search and sharded train unroll into.
const (
	OpFolds     = "ml.folds"
	OpFold      = "ml.fold"
	OpCVSummary = "ml.cvsummary"
	OpPick      = "ml.pick"
	OpShards    = "ml.shards"
	OpRound     = "ml.round"
	OpMerge     = "ml.merge"
)

// DefaultTrainTimeout is the timeout of training stages whose spec gives
// none: full-size runs take tens of minutes on two cores, more than the
// engine's default of 10m.
const DefaultTrainTimeout = task.Duration(6 * time.Hour)

// Ops holds what the operators share on one worker: the backend and the
// decoded datasets.
type Ops struct {
	backend ml.Backend
	data    datasets
}

// New returns the operators, training with gorgonia.
func New() *Ops { return &Ops{backend: gorgonia.Backend{}} }

// Register adds the operators to r.
func (o *Ops) Register(r *worker.Registry) {
	r.Handle(OpTrain, o.train)
	r.Handle(OpEvaluate, o.evaluate)
	r.Handle(OpPredict, o.predict)
	r.Handle(OpFolds, o.folds)
	r.Handle(OpFold, o.fold)
	r.Handle(OpCVSummary, o.cvSummary)
	r.Handle(OpPick, o.pick)
	r.Handle(OpShards, o.shards)
	r.Handle(OpRound, o.round)
	r.Handle(OpMerge, o.merge)
}

// Register adds the operators to r: what the default worker does.
func Register(r *worker.Registry) { New().Register(r) }

// Info describes an operator for the coordinator and for people.
type Info struct {
	coord.OpInfo
	Doc string
}

// Infos lists the operators with their submit-time checks and
// expansions; a coordinator's Config.Ops takes them so specs using them
// are checked (and unrolled) at submit.
func Infos() []Info {
	user := func(name, doc string) Info {
		return Info{OpInfo: coord.OpInfo{Name: name, Check: Check, Expand: Expand}, Doc: doc}
	}
	part := func(name string, reduce bool, doc string) Info {
		return Info{OpInfo: coord.OpInfo{Name: name, Reduce: reduce}, Doc: doc}
	}
	return []Info{
		user(OpTrain, "trains a CNN (params.model) on each item's data; with shards > 1, data-parallel rounds"),
		user(OpEvaluate, "scores each item's model on params.data: accuracy, per-class precision / recall, confusion matrix"),
		user(OpPredict, "labels items with a model: label, probability, uncertain (probability below params.threshold)"),
		user(OpCrossval, "k-fold cross-validation: one microtask per fold, then mean ± std"),
		user(OpSearch, "hyper-parameter search: trials × folds microtasks, best by mean accuracy, retrained on all the data"),
		part(OpFolds, false, "part of crossval and search: an item → its fold (and trial) items"),
		part(OpFold, false, "part of crossval and search: train on k-1 folds, validate on one"),
		part(OpCVSummary, true, "part of crossval: mean ± std of the folds"),
		part(OpPick, true, "part of search: the best trial"),
		part(OpShards, false, "part of data-parallel train: an item → its shard items"),
		part(OpRound, false, "part of data-parallel train: one shard's local epochs from the global weights"),
		part(OpMerge, true, "part of data-parallel train: average the shards' weights, start the next round"),
	}
}

// CoordOps returns Infos as a coordinator's Config.Ops entries.
func CoordOps() map[string]coord.OpInfo {
	m := map[string]coord.OpInfo{}
	for _, i := range Infos() {
		m[i.Name] = i.OpInfo
	}
	return m
}

// Check checks a stage of one of the user-facing operators at submit:
// params strictly decoded, the model a valid network (impossible shapes,
// unknown layers and misspelt fields are reported here, naming the
// layer), every search trial a valid network, data refs well formed. It
// gives training stages a longer default timeout.
func Check(raw *spec.Stage, s *task.Stage) []spec.ParamError {
	var errs []spec.ParamError
	p, err := decodeParams(s.Params)
	if err != nil {
		return []spec.ParamError{{Msg: err.Error()}}
	}
	for _, fe := range p.check(s.Op) {
		errs = append(errs, spec.ParamError{Field: fe.field, Msg: fe.msg})
	}
	if s.Op == OpEvaluate && p.Data == nil {
		errs = append(errs, spec.ParamError{Field: "data", Msg: "missing: the labelled data to score on, e.g. {dataset: mnist, split: test}"})
	}
	if s.Op == OpPredict && p.Data == nil && p.ModelRef == "" {
		errs = append(errs, spec.ParamError{Msg: "set data (label a dataset with each item's model) or model_ref (label the items, image tensors, with that model)"})
	}
	if (s.Op == OpCrossval || s.Op == OpSearch) && s.Kind == task.Reduce {
		errs = append(errs, spec.ParamError{Msg: s.Op + " runs as map stages; remove kind"})
	}
	if s.Op == OpSearch && p.Space == nil {
		errs = append(errs, spec.ParamError{Field: "space", Msg: "missing: the parameters to search, e.g. [{name: learning_rate, values: [0.001, 0.003]}]"})
	}
	switch s.Op {
	case OpTrain, OpCrossval, OpSearch:
		if raw.Timeout == "" {
			s.Timeout = DefaultTrainTimeout
		}
	}
	return errs
}

// Expand unrolls crossval, search and sharded train (see the package
// doc); other stages are kept.
func Expand(s *task.Stage) []task.Stage {
	p, err := decodeParams(s.Params)
	if err != nil {
		return nil
	}
	part := func(suffix, op string, kind task.StageKind, after ...string) task.Stage {
		g := *s
		g.Name, g.Op, g.Kind, g.After = spec.ExpandedName(s.Name, suffix), op, kind, after
		g.Batch = 1 // one microtask per fold, trial or shard
		return g
	}
	last := func(op string, kind task.StageKind, after string, params json.RawMessage) task.Stage {
		g := part("", op, kind, after)
		g.Name = s.Name
		if params != nil {
			g.Params = params
		}
		return g
	}
	switch s.Op {
	case OpCrossval:
		folds := part("folds", OpFolds, task.Map, s.After...)
		fold := part("fold", OpFold, task.Map, folds.Name)
		return []task.Stage{folds, fold, last(OpCVSummary, task.Reduce, fold.Name, nil)}
	case OpSearch:
		trials := part("trials", OpFolds, task.Map, s.After...)
		trial := part("trial", OpFold, task.Map, trials.Name)
		pick := part("pick", OpPick, task.Reduce, trial.Name)
		retrain := Params{Model: p.Model, Data: p.Data, Parallelism: p.Parallelism}
		raw, _ := json.Marshal(retrain)
		return []task.Stage{trials, trial, pick, last(OpTrain, task.Map, pick.Name, raw)}
	case OpTrain:
		if p.Shards <= 1 {
			return nil
		}
		base, err := p.spec()
		if err != nil {
			return nil
		}
		rounds := p.rounds(base)
		out := []task.Stage{part("shards", OpShards, task.Map, s.After...)}
		prev := out[0].Name
		for r := 1; r <= rounds; r++ {
			round := part("round"+itoa(r), OpRound, task.Map, prev)
			merge := part("merge"+itoa(r), OpMerge, task.Reduce, round.Name)
			if r == rounds {
				merge = last(OpMerge, task.Reduce, round.Name, nil)
			}
			out = append(out, round, merge)
			prev = merge.Name
		}
		return out
	}
	return nil
}
