package mlops

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/ml/tune"
)

// Defaults of the operators' params.
const (
	DefaultK         = 5
	DefaultThreshold = 0.9
	DefaultMaxTrials = 20
	// MaxFolds and MaxShards bound fan-out so a typo cannot make a
	// million microtasks.
	MaxFolds  = 100
	MaxShards = 1000
	MaxRounds = 1000
	// MaxSearchTasks bounds a search's trials × folds.
	MaxSearchTasks = 10000
)

// Params are the params of every operator of this package; each uses the
// fields that apply to it (Check rejects the others).
type Params struct {
	// Model is the network and its training (ml.Spec, inline). The CLI
	// inlines model_file (a YAML file beside the job spec) as model.
	Model json.RawMessage `json:"model,omitempty"`
	// Data is the training data (train, crossval, search, rounds) or the
	// data to score (evaluate, predict).
	Data *DataRef `json:"data,omitempty"`
	// Validation, for train, is scored at the end of every epoch (or
	// round) and reported as val_loss / val_accuracy.
	Validation *DataRef `json:"validation,omitempty"`

	// K is the number of folds (crossval, search); default 5.
	K int `json:"k,omitempty"`
	// Seed makes folds, shards and random search reproducible; default
	// the model's seed.
	Seed *uint64 `json:"seed,omitempty"`

	// Space, Trials and Method describe a search: grid over Space's
	// values, or Trials random draws (method random).
	Space  tune.Space `json:"space,omitempty"`
	Method string     `json:"method,omitempty"`
	Trials int        `json:"trials,omitempty"`

	// Shards > 1 makes train data-parallel: one microtask per shard per
	// round, Rounds rounds (default the model's epochs) of LocalEpochs
	// local epochs each (default 1).
	Shards      int `json:"shards,omitempty"`
	Rounds      int `json:"rounds,omitempty"`
	LocalEpochs int `json:"local_epochs,omitempty"`
	// ShardBatchSize and ShardLearningRate override ml.ShardSpec's
	// batch/shards and lr·√shards for each shard.
	ShardBatchSize    int     `json:"shard_batch_size,omitempty"`
	ShardLearningRate float64 `json:"shard_learning_rate,omitempty"`

	// ModelRef, for predict and evaluate, is a model file blob to use
	// instead of the input item's model field.
	ModelRef blob.Ref `json:"model_ref,omitempty"`
	// Threshold, for predict: items whose probability is below it are
	// flagged uncertain (route them to people with a human stage's
	// route.below set to the same value); default 0.9.
	Threshold float64 `json:"threshold,omitempty"`
	// Probs, for predict, adds every class's probability to each item.
	Probs bool `json:"probs,omitempty"`
	// Parallelism is the goroutines per batch (default GOMAXPROCS): set
	// it to compare runs bit for bit across machines.
	Parallelism int `json:"parallelism,omitempty"`
}

// DataRef names a dataset: Dataset is "mnist" or "fashion-mnist" (with
// Split train or test) or the ref of a packed dataset blob
// ("myriad/dataset/v1" manifest). Limit keeps the first Limit items.
type DataRef struct {
	Dataset string `json:"dataset"`
	Split   string `json:"split,omitempty"`
	Limit   int    `json:"limit,omitempty"`
}

// named datasets and their splits.
var namedDatasets = []string{"mnist", "fashion-mnist"}

func (d *DataRef) check() (field, msg string) {
	switch {
	case d.Dataset == "":
		return "dataset", "missing (mnist, fashion-mnist, or a packed dataset's blob ref)"
	case d.Limit < 0:
		return "limit", fmt.Sprintf("%d is negative", d.Limit)
	case isNamed(d.Dataset):
		if d.Split != "" && d.Split != "train" && d.Split != "test" {
			return "split", fmt.Sprintf("%q (want train or test)", d.Split)
		}
	default:
		if _, err := blob.ParseRef(d.Dataset); err != nil {
			return "dataset", fmt.Sprintf("%q is neither a known dataset (%s) nor a blob ref: %v", d.Dataset, strings.Join(namedDatasets, ", "), err)
		}
		if d.Split != "" {
			return "split", "applies to named datasets only"
		}
	}
	return "", ""
}

func isNamed(name string) bool {
	for _, n := range namedDatasets {
		if name == n || name == "fashion" && n == "fashion-mnist" {
			return true
		}
	}
	return false
}

// decodeParams decodes raw strictly.
func decodeParams(raw []byte) (*Params, error) {
	var p Params
	if len(raw) == 0 {
		return &p, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, err
	}
	return &p, nil
}

// spec parses and validates the model.
func (p *Params) spec() (*ml.Spec, error) {
	if len(p.Model) == 0 || string(p.Model) == "null" {
		return nil, fmt.Errorf("%w: model: missing (the network: input, layers, optimizer, ...; or model_file)", ml.ErrInvalidSpec)
	}
	return ml.ParseSpec(p.Model)
}

// seed is the seed of folds, shards and random search.
func (p *Params) seed(s *ml.Spec) uint64 {
	if p.Seed != nil {
		return *p.Seed
	}
	return s.Seed
}

func (p *Params) k() int {
	if p.K == 0 {
		return DefaultK
	}
	return p.K
}

func (p *Params) threshold() float64 {
	if p.Threshold == 0 {
		return DefaultThreshold
	}
	return p.Threshold
}

// rounds is the number of data-parallel rounds.
func (p *Params) rounds(s *ml.Spec) int {
	if p.Rounds > 0 {
		return p.Rounds
	}
	return s.Epochs
}

// shardSpec is what one shard of data-parallel training trains per
// round.
func (p *Params) shardSpec(base *ml.Spec) *ml.Spec {
	s := ml.ShardSpec(base, p.Shards)
	s.Epochs = max(p.LocalEpochs, 1)
	if p.ShardBatchSize > 0 {
		s.BatchSize = p.ShardBatchSize
	}
	if p.ShardLearningRate > 0 {
		s.LearningRate = p.ShardLearningRate
	}
	return s
}

// trials lists a search's trials.
func (p *Params) trials(s *ml.Spec) ([]tune.Trial, error) {
	switch p.Method {
	case "", "grid":
		return tune.Grid(p.Space)
	case "random":
		n := p.Trials
		if n == 0 {
			n = DefaultMaxTrials
		}
		return tune.Random(p.Space, n, p.seed(s))
	default:
		return nil, fmt.Errorf("%w: method %q (want grid or random)", tune.ErrInvalid, p.Method)
	}
}

// check reports the problems of p for op, each naming its field.
func (p *Params) check(op string) []fieldError {
	var errs []fieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, fieldError{field, fmt.Sprintf(format, args...)})
	}
	uses := opFields[op]
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"model", len(p.Model) > 0}, {"data", p.Data != nil}, {"validation", p.Validation != nil},
		{"k", p.K != 0}, {"seed", p.Seed != nil}, {"space", p.Space != nil}, {"method", p.Method != ""},
		{"trials", p.Trials != 0}, {"shards", p.Shards != 0}, {"rounds", p.Rounds != 0}, {"local_epochs", p.LocalEpochs != 0},
		{"shard_batch_size", p.ShardBatchSize != 0}, {"shard_learning_rate", p.ShardLearningRate != 0},
		{"model_ref", p.ModelRef != ""}, {"threshold", p.Threshold != 0}, {"probs", p.Probs}, {"parallelism", p.Parallelism != 0},
	} {
		if f.set && !strings.Contains(" "+uses+" ", " "+f.name+" ") {
			add(f.name, "does not apply to %s (its params: %s)", op, uses)
		}
	}
	var spec *ml.Spec
	if strings.Contains(" "+uses+" ", " model ") {
		s, err := p.spec()
		if err != nil {
			add("model", "%v", err)
		}
		spec = s
	}
	for name, d := range map[string]*DataRef{"data": p.Data, "validation": p.Validation} {
		if d != nil {
			if field, msg := d.check(); field != "" {
				add(name+"."+field, "%s", msg)
			}
		}
	}
	if p.K != 0 && (p.K < 2 || p.K > MaxFolds) {
		add("k", "%d is out of range (2..%d)", p.K, MaxFolds)
	}
	if p.Shards < 0 || p.Shards > MaxShards {
		add("shards", "%d is out of range (1..%d)", p.Shards, MaxShards)
	}
	if p.Rounds < 0 || p.Rounds > MaxRounds {
		add("rounds", "%d is out of range (1..%d)", p.Rounds, MaxRounds)
	}
	if p.Rounds > 0 && p.Shards <= 1 {
		add("rounds", "applies to data-parallel training only (shards > 1)")
	}
	if p.LocalEpochs < 0 {
		add("local_epochs", "%d is negative", p.LocalEpochs)
	}
	if p.ShardBatchSize < 0 || p.ShardBatchSize > ml.MaxBatchSize {
		add("shard_batch_size", "%d is out of range (1..%d)", p.ShardBatchSize, ml.MaxBatchSize)
	}
	if p.ShardLearningRate < 0 || math.IsNaN(p.ShardLearningRate) || math.IsInf(p.ShardLearningRate, 0) {
		add("shard_learning_rate", "%v must be a positive number", p.ShardLearningRate)
	}
	if (p.LocalEpochs != 0 || p.ShardBatchSize != 0 || p.ShardLearningRate != 0) && p.Shards <= 1 {
		add("shards", "local_epochs, shard_batch_size and shard_learning_rate need shards > 1")
	}
	if p.Threshold < 0 || p.Threshold > 1 || math.IsNaN(p.Threshold) {
		add("threshold", "%v is out of range (0 < threshold <= 1)", p.Threshold)
	}
	if p.Trials < 0 {
		add("trials", "%d is negative", p.Trials)
	}
	if p.Parallelism < 0 {
		add("parallelism", "%d is negative", p.Parallelism)
	}
	if p.ModelRef != "" {
		if _, err := blob.ParseRef(string(p.ModelRef)); err != nil {
			add("model_ref", "%v", err)
		}
	}
	if op == OpSearch {
		if err := p.Space.Validate(); err != nil {
			add("space", "%v", err)
		} else if spec != nil {
			trials, err := p.trials(spec)
			if err != nil {
				add("method", "%v", err)
			}
			if n := len(trials) * p.k(); n > MaxSearchTasks {
				add("space", "%d trials × %d folds is %d microtasks, more than %d", len(trials), p.k(), n, MaxSearchTasks)
				trials = nil
			}
			// Every configuration must be a valid network: an impossible
			// shape in trial 7 is reported now, not after six trials ran.
			for _, t := range trials {
				if _, err := spec.WithParams(t.Params); err != nil {
					add("space", "trial %d %v: %v", t.ID, t.Params, err)
					break
				}
			}
		}
	}
	return errs
}

type fieldError struct{ field, msg string }

// opFields lists the params each user-facing operator takes.
var opFields = map[string]string{
	OpTrain:    "model data validation shards rounds local_epochs shard_batch_size shard_learning_rate seed parallelism",
	OpEvaluate: "data model_ref",
	OpPredict:  "data model_ref threshold probs",
	OpCrossval: "model data k seed parallelism",
	OpSearch:   "model data k seed space method trials parallelism",
}
