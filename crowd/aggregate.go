package crowd

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// AggregateOptions configures Aggregate.
type AggregateOptions struct {
	// Method is the aggregation method (empty means MethodDawidSkene).
	Method Method
	// Labels fixes the label set and its order (see DSOptions.Labels).
	Labels []string
	// Seed seeds tie-breaks.
	Seed uint64
	// DS tunes Dawid-Skene; its Labels and Seed are overridden by the
	// fields above when those are set.
	DS DSOptions
}

// Aggregate runs the chosen method on answers.
func Aggregate(ctx context.Context, answers []Answer, opts AggregateOptions) (*Result, error) {
	switch cmp.Or(opts.Method, MethodDawidSkene) {
	case MethodMajority:
		return MajorityVote(answers, MajorityOptions{Labels: opts.Labels, Seed: opts.Seed})
	case MethodDawidSkene:
		ds := opts.DS
		if len(opts.Labels) > 0 {
			ds.Labels = opts.Labels
		}
		ds.Seed = cmp.Or(opts.Seed, ds.Seed)
		return DawidSkene(ctx, answers, ds)
	}
	return nil, fmt.Errorf("aggregate: %w: unknown method %q", ErrInput, opts.Method)
}

// WriteLabels writes a result as a question,label,confidence CSV with a
// header, one row per question in the result's order; confidence has six
// decimals.
func WriteLabels(w io.Writer, r *Result) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"question", "label", "confidence"})
	for _, it := range r.Items {
		cw.Write([]string{it.Question, it.Label, strconv.FormatFloat(it.Confidence, 'f', 6, 64)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write labels: %w", err)
	}
	return nil
}

// AggregateCSV reads a question,worker,answer CSV from in, aggregates it
// and writes question,label,confidence CSV to out: what `myriad aggregate
// answers.csv --method ds` does. It returns the result for callers that
// want more (worker estimates, iterations).
func AggregateCSV(ctx context.Context, in io.Reader, out io.Writer, opts AggregateOptions) (*Result, error) {
	answers, err := ReadAnswers(in)
	if err != nil {
		return nil, err
	}
	res, err := Aggregate(ctx, answers, opts)
	if err != nil {
		return nil, err
	}
	if err := WriteLabels(out, res); err != nil {
		return nil, err
	}
	return res, nil
}
