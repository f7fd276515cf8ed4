package imageops

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/myriadhq/myriad/imgproc/clean"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
)

// CheckParams returns the submit-time check of an image operator's params
// (see spec.ParamChecker), or nil for other operators: a misspelt field or
// a bad pipeline is reported with the spec's line before any microtask
// runs, instead of failing every microtask.
func CheckParams(op string) func(raw *spec.Stage, s *task.Stage) []spec.ParamError {
	var newParams func() validator
	switch op {
	case OpIngest:
		newParams = func() validator { return &ingestCheck{} }
	case OpClean:
		newParams = func() validator { return &clean.Config{} }
	case OpPreprocess:
		newParams = func() validator { return &PreprocessParams{} }
	case OpAugment:
		newParams = func() validator { return &AugmentParams{} }
	case OpPack:
		newParams = func() validator { return &packCheck{} }
	default:
		return nil
	}
	return func(_ *spec.Stage, s *task.Stage) []spec.ParamError {
		v := newParams()
		if len(s.Params) > 0 {
			dec := json.NewDecoder(bytes.NewReader(s.Params))
			dec.DisallowUnknownFields()
			if err := dec.Decode(v); err != nil {
				return []spec.ParamError{{Msg: err.Error()}}
			}
		}
		err := v.Validate()
		if err == nil {
			return nil
		}
		var out []spec.ParamError
		for _, e := range unjoin(err) {
			out = append(out, spec.ParamError{Msg: e.Error()})
		}
		return out
	}
}

type validator interface{ Validate() error }

type ingestCheck struct{ IngestParams }

func (ingestCheck) Validate() error { return nil }

type packCheck struct{ PackParams }

func (p *packCheck) Validate() error {
	seen := map[string]bool{}
	for _, c := range p.Classes {
		if c == "" || seen[c] {
			return errors.New("classes: names must be distinct and not empty")
		}
		seen[c] = true
	}
	if p.Preprocess != nil {
		return p.Preprocess.Validate()
	}
	return nil
}

// unjoin lists the errors inside an errors.Join (one per line of its
// message otherwise).
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	var out []error
	for _, l := range strings.Split(err.Error(), "\n") {
		out = append(out, errors.New(l))
	}
	return out
}
