package crowd

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
)

// Defaults of DSOptions.
const (
	// DefaultSmoothing is the pseudo-count added to every confusion-matrix
	// cell and every class prior in each M-step. It is a hundredth of one
	// answer: it changes no estimate that has data behind it, yet keeps
	// every probability positive, so a worker who never gave a label in
	// the first iterations can still be explained by it later, and no log
	// is ever -Inf.
	DefaultSmoothing = 0.01
	// DefaultTolerance stops EM once no item's posterior probability
	// moves by more than this between two iterations.
	DefaultTolerance = 1e-6
	// DefaultMaxIterations caps EM. Dawid-Skene usually converges in tens
	// of iterations; the cap only bites on very flat likelihoods.
	DefaultMaxIterations = 200
)

// DSOptions configures DawidSkene. The zero value uses the defaults.
type DSOptions struct {
	// Labels fixes the label set and its order, which may include labels
	// nobody answered. Empty: the labels of WarmStart if set, else the
	// sorted set of labels answered. An answer outside it is an error.
	Labels []string
	// Smoothing is the additive pseudo-count of the M-step (0 means
	// DefaultSmoothing). With it the M-step is the MAP estimate under a
	// symmetric Dirichlet(1+Smoothing) prior on every confusion row and
	// on the class priors, and EM increases Result.Objective.
	Smoothing float64
	// Tolerance is the convergence threshold on the largest change of any
	// posterior probability between iterations (0 means
	// DefaultTolerance).
	Tolerance float64
	// MaxIterations caps the EM iterations (0 means
	// DefaultMaxIterations).
	MaxIterations int
	// Seed seeds the tie-break of exactly equal posteriors, as in
	// MajorityVote.
	Seed uint64
	// Known gives the true label of some questions (gold questions).
	// Their posteriors are held at the known label in every E-step, so
	// they anchor the workers' confusion matrices (semi-supervised EM);
	// their ItemResult carries the known label with confidence 1. Known
	// questions nobody answered are ignored; a known label outside the
	// label set is an error.
	Known Truth
	// WarmStart, if set, replaces the majority-vote initialisation: EM
	// starts with an E-step under these priors and confusion matrices
	// (workers it does not know use its Fallback). Re-fitting a growing
	// answer set from the previous fit's Model keeps successive fits on
	// the same optimum, so labels and worker estimates do not jump
	// between refits. It saves few iterations when much has changed (on
	// RTE, a refit after the last 10% of answers takes 26 iterations
	// instead of 27): EM's slow final convergence dominates.
	WarmStart *WorkerModel
}

// Validate reports the first invalid field.
func (o DSOptions) Validate() error {
	switch {
	case o.Smoothing < 0 || math.IsNaN(o.Smoothing) || math.IsInf(o.Smoothing, 0):
		return fmt.Errorf("%w: Smoothing %v, want finite ≥ 0", ErrInput, o.Smoothing)
	case o.Tolerance < 0 || math.IsNaN(o.Tolerance):
		return fmt.Errorf("%w: Tolerance %v, want ≥ 0", ErrInput, o.Tolerance)
	case o.MaxIterations < 0:
		return fmt.Errorf("%w: MaxIterations %d, want ≥ 0", ErrInput, o.MaxIterations)
	}
	if o.WarmStart != nil {
		if err := o.WarmStart.Validate(); err != nil {
			return fmt.Errorf("WarmStart: %w", err)
		}
		if len(o.Labels) > 0 && !slices.Equal(o.Labels, o.WarmStart.Labels) {
			return fmt.Errorf("%w: Labels %q differ from WarmStart.Labels %q", ErrInput, o.Labels, o.WarmStart.Labels)
		}
	}
	return nil
}

// DawidSkene aggregates answers with the EM estimator of Dawid & Skene,
// "Maximum likelihood estimation of observer error-rates using the EM
// algorithm", Applied Statistics 28(1), 1979.
//
// Every worker j has a full confusion matrix π^j, π^j[k][l] being the
// probability that j answers l to an item whose true class is k, and the
// classes have priors p. Starting from the items' vote shares (the paper's
// initialisation), EM alternates
//
//	M-step  p_k      = (Σ_i T_ik + α) / (I + Kα)
//	        π^j[k][l] = (Σ_i T_ik·n_ijl + α) / (Σ_i T_ik·n_ij + Kα)
//	E-step  T_ik ∝ p_k · Π_j Π_l π^j[k][l]^n_ijl
//
// where n_ijl counts j's answers l to item i (repeated answers count, as
// in the paper) and α is opts.Smoothing. The E-step is computed in log
// space and normalised with log-sum-exp. EM stops when no T_ik moves more
// than opts.Tolerance, or after opts.MaxIterations. Items are labelled
// with their largest posterior (ties as in MajorityVote); a worker's
// Accuracy is Σ_k p_k π^j[k][k].
//
// It checks ctx between iterations.
func DawidSkene(ctx context.Context, answers []Answer, opts DSOptions) (*Result, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("dawid-skene: %w", err)
	}
	labels := opts.Labels
	if len(labels) == 0 && opts.WarmStart != nil {
		labels = opts.WarmStart.Labels
	}
	ix, err := newIndex(answers, labels)
	if err != nil {
		return nil, fmt.Errorf("dawid-skene: %w", err)
	}
	e := newEM(ix, cmp.Or(opts.Smoothing, DefaultSmoothing))
	if err := e.setKnown(opts.Known); err != nil {
		return nil, fmt.Errorf("dawid-skene: %w", err)
	}
	e.initKnown()
	if opts.WarmStart != nil {
		e.loadModel(opts.WarmStart)
		e.eStep()
	} else {
		e.initVoteShares()
	}
	tol := cmp.Or(opts.Tolerance, DefaultTolerance)
	maxIter := cmp.Or(opts.MaxIterations, DefaultMaxIterations)
	res := &Result{Method: MethodDawidSkene, Labels: slices.Clone(ix.labels)}
	for res.Iterations < maxIter {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("dawid-skene: %w", err)
		}
		e.mStep()
		delta := e.eStep()
		res.Iterations++
		if delta <= tol {
			res.Converged = true
			break
		}
	}
	res.Objective = e.objective
	e.fill(res, opts.Seed)
	res.finish()
	return res, nil
}

// em holds the state of one Dawid-Skene fit in flat arrays: T is
// [item][class], conf and logConf are [worker][true class][answer].
type em struct {
	ix        *index
	k         int
	alpha     float64
	t         []float64
	next      []float64
	prior     []float64
	logPrior  []float64
	conf      []float64
	logConf   []float64
	support   []float64 // [worker][true class]: Σ_i T_ik·n_ij of the last M-step
	known     []int     // [item]: known class, or -1
	objective float64
	score     []float64
}

func newEM(ix *index, alpha float64) *em {
	k := len(ix.labels)
	return &em{
		ix:       ix,
		k:        k,
		alpha:    alpha,
		t:        make([]float64, len(ix.items)*k),
		next:     make([]float64, len(ix.items)*k),
		prior:    make([]float64, k),
		logPrior: make([]float64, k),
		conf:     make([]float64, len(ix.workers)*k*k),
		logConf:  make([]float64, len(ix.workers)*k*k),
		support:  make([]float64, len(ix.workers)*k),
		score:    make([]float64, k),
	}
}

// setKnown records the known classes of items (all -1 without any).
func (e *em) setKnown(known Truth) error {
	e.known = make([]int, len(e.ix.items))
	for i, q := range e.ix.items {
		e.known[i] = -1
		l, ok := known[q]
		if !ok {
			continue
		}
		c, ok := e.ix.labelID[l]
		if !ok {
			return fmt.Errorf("%w: known label %q of question %q not in the label set %q", ErrInput, l, q, e.ix.labels)
		}
		e.known[i] = c
	}
	return nil
}

// initKnown sets the posteriors of known items to their class.
func (e *em) initKnown() {
	for i, c := range e.known {
		if c >= 0 {
			e.t[i*e.k+c] = 1
		}
	}
}

// initVoteShares sets T of the unknown items to each item's share of
// answers per class.
func (e *em) initVoteShares() {
	ix, k := e.ix, e.k
	for i := range ix.items {
		t := e.t[i*k : (i+1)*k]
		if e.known[i] >= 0 {
			continue
		}
		n := ix.itemStart[i+1] - ix.itemStart[i]
		for o := ix.itemStart[i]; o < ix.itemStart[i+1]; o++ {
			t[ix.obsLabel[o]] += 1 / float64(n)
		}
	}
}

// loadModel sets the parameters from a model whose labels match ix's.
func (e *em) loadModel(m *WorkerModel) {
	k := e.k
	for c := range k {
		e.logPrior[c] = safeLog(m.Priors[c])
	}
	for w, name := range e.ix.workers {
		cm := m.confusionFor(name)
		for a := range k {
			for b := range k {
				x := 1 / float64(k) // an unknown worker without fallback says nothing
				if cm != nil {
					x = cm[a][b]
				}
				e.logConf[(w*k+a)*k+b] = safeLog(x)
			}
		}
	}
}

// mStep re-estimates priors and confusion matrices from T.
func (e *em) mStep() {
	ix, k, alpha := e.ix, e.k, e.alpha
	clear(e.conf)
	for c := range k {
		e.prior[c] = alpha
	}
	for i := range ix.items {
		t := e.t[i*k : (i+1)*k]
		for c, x := range t {
			e.prior[c] += x
		}
		for o := ix.itemStart[i]; o < ix.itemStart[i+1]; o++ {
			base := int(ix.obsWorker[o])*k*k + int(ix.obsLabel[o])
			for c, x := range t {
				e.conf[base+c*k] += x
			}
		}
	}
	norm := float64(len(ix.items)) + float64(k)*alpha
	for c := range k {
		e.prior[c] /= norm
		e.logPrior[c] = math.Log(e.prior[c])
	}
	for r := 0; r < len(e.conf); r += k {
		row := e.conf[r : r+k]
		sum := 0.0
		for l := range row {
			sum += row[l]
		}
		e.support[r/k] = sum
		sum += float64(k) * alpha
		for l := range row {
			row[l] = (row[l] + alpha) / sum
			e.logConf[r+l] = math.Log(row[l])
		}
	}
}

// eStep recomputes T from the parameters, sets the objective and returns
// the largest change of any T_ik.
func (e *em) eStep() float64 {
	ix, k := e.ix, e.k
	ll := 0.0
	delta := 0.0
	for i := range ix.items {
		s := e.score
		copy(s, e.logPrior)
		for o := ix.itemStart[i]; o < ix.itemStart[i+1]; o++ {
			base := int(ix.obsWorker[o])*k*k + int(ix.obsLabel[o])
			for c := range s {
				s[c] += e.logConf[base+c*k]
			}
		}
		old := e.t[i*k : (i+1)*k]
		nt := e.next[i*k : (i+1)*k]
		if kc := e.known[i]; kc >= 0 {
			// A known item contributes log p(class, answers), and its
			// posterior stays put.
			ll += s[kc]
			copy(nt, old)
			continue
		}
		ll += softmax(s, nt)
		for c := range s {
			delta = max(delta, math.Abs(nt[c]-old[c]))
		}
	}
	e.t, e.next = e.next, e.t
	// The smoothing prior's log-density (up to a constant): MAP-EM never
	// decreases log-likelihood plus this.
	for _, x := range e.logPrior {
		ll += e.alpha * x
	}
	for _, x := range e.logConf {
		ll += e.alpha * x
	}
	e.objective = ll
	return delta
}

// fill writes the fitted labels, posteriors and worker estimates into res.
func (e *em) fill(res *Result, seed uint64) {
	ix, k := e.ix, e.k
	res.Priors = slices.Clone(e.prior)
	res.Items = make([]ItemResult, len(ix.items))
	for i, q := range ix.items {
		p := slices.Clone(e.t[i*k : (i+1)*k])
		best := pickLabel(p, q, seed)
		res.Items[i] = ItemResult{
			Question:   q,
			Label:      ix.labels[best],
			Confidence: p[best],
			Posterior:  p,
			Answers:    ix.itemStart[i+1] - ix.itemStart[i],
		}
	}
	res.Workers = make([]WorkerResult, len(ix.workers))
	for w, name := range ix.workers {
		conf := newMatrix(k)
		acc := 0.0
		for a := range k {
			copy(conf[a], e.conf[(w*k+a)*k:(w*k+a+1)*k])
			acc += res.Priors[a] * conf[a][a]
		}
		res.Workers[w] = WorkerResult{
			Worker:    name,
			Answers:   ix.workerN[w],
			Accuracy:  acc,
			Confusion: conf,
			Support:   slices.Clone(e.support[w*k : (w+1)*k]),
		}
	}
}

// softmax sets out to exp(s) normalised and returns log Σ exp(s),
// shifting by the largest score so nothing overflows or underflows to a
// zero sum.
func softmax(s, out []float64) float64 {
	m := math.Inf(-1)
	for _, x := range s {
		m = max(m, x)
	}
	sum := 0.0
	for c, x := range s {
		out[c] = math.Exp(x - m)
		sum += out[c]
	}
	for c := range out {
		out[c] /= sum
	}
	return m + math.Log(sum)
}

func logSumExp(s []float64) float64 {
	m := math.Inf(-1)
	for _, x := range s {
		m = max(m, x)
	}
	if math.IsInf(m, -1) {
		return m
	}
	sum := 0.0
	for _, x := range s {
		sum += math.Exp(x - m)
	}
	return m + math.Log(sum)
}

// minProb floors probabilities taken from outside (a WorkerModel) before
// their log, so a hand-written model with zeros cannot yield -Inf - -Inf.
const minProb = 1e-12

func safeLog(x float64) float64 { return math.Log(max(x, minProb)) }
