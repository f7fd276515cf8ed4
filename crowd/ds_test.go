package crowd

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// biasedCrowd is a three-class crowd with known confusion matrices:
// honest annotators of varied accuracy, some confusing dog for cat, plus
// two random spammers and one who always answers "bird".
func biasedCrowd() []Annotator {
	var crowd []Annotator
	for i := range 16 {
		a := Annotator{ID: fmt.Sprintf("h%02d", i), Accuracy: 0.6 + 0.025*float64(i)}
		if i%4 == 0 {
			// Mistakes dogs for cats: a non-diagonal, asymmetric matrix.
			a.ClassAccuracy = map[string]float64{"dog": 0.5}
			a.Bias = map[string]float64{"cat": 8}
		}
		crowd = append(crowd, a)
	}
	crowd = append(crowd,
		Annotator{ID: "rand1", Spam: SpamRandom},
		Annotator{ID: "rand2", Spam: SpamRandom},
		Annotator{ID: "always-bird", Spam: SpamConstant, SpamLabel: "bird"},
	)
	return crowd
}

var (
	animalLabels = []string{"bird", "cat", "dog"}
	animalPriors = []float64{0.2, 0.5, 0.3}
)

func TestDawidSkeneRecoversConfusion(t *testing.T) {
	t.Parallel()
	crowd := biasedCrowd()
	answers, truth := simulated(t, 1, animalLabels, animalPriors, crowd, 4000, 5)
	res, err := DawidSkene(context.Background(), answers, DSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Converged {
		t.Errorf("not converged after %d iterations", res.Iterations)
	}
	freq := make([]float64, 3)
	for _, l := range truth {
		freq[indexOf(animalLabels, l)] += 1 / float64(len(truth))
	}
	for k := range 3 {
		if !near(res.Priors[k], freq[k], 0.02) {
			t.Errorf("prior of %s %.3f, want %.3f", animalLabels[k], res.Priors[k], freq[k])
		}
	}

	sumErr, cells := 0.0, 0
	for i := range crowd {
		want, err := crowd[i].Confusion(animalLabels)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := res.Worker(crowd[i].ID)
		if !ok {
			t.Fatalf("no estimate for %s", crowd[i].ID)
		}
		for a := range 3 {
			for b := range 3 {
				d := math.Abs(got.Confusion[a][b] - want[a][b])
				sumErr += d
				cells++
				if d > 0.12 {
					t.Errorf("%s: π[%s][%s] = %.3f, want %.3f", crowd[i].ID, animalLabels[a], animalLabels[b], got.Confusion[a][b], want[a][b])
				}
			}
		}
	}
	if mean := sumErr / float64(cells); mean > 0.03 {
		t.Errorf("mean absolute confusion error %.4f, want ≤ 0.03", mean)
	}

	// Random spammers come out at chance, below every honest annotator.
	minHonest := 1.0
	for _, a := range crowd[:16] {
		w, _ := res.Worker(a.ID)
		minHonest = min(minHonest, w.Accuracy)
	}
	for _, id := range []string{"rand1", "rand2"} {
		w, _ := res.Worker(id)
		if w.Accuracy > 0.42 || w.Accuracy >= minHonest {
			t.Errorf("%s: estimated accuracy %.3f, want near 1/3 and below every honest annotator (lowest %.3f)", id, w.Accuracy, minHonest)
		}
	}
	// The constant spammer's matrix says "bird" whatever the truth.
	w, _ := res.Worker("always-bird")
	for a := range 3 {
		if w.Confusion[a][0] < 0.99 {
			t.Errorf("always-bird: π[%s][bird] = %.3f, want ≈ 1", animalLabels[a], w.Confusion[a][0])
		}
	}

	mv, err := MajorityVote(answers, MajorityOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dsAcc, mvAcc := Evaluate(res, truth).Accuracy, Evaluate(mv, truth).Accuracy
	t.Logf("simulated: DS %.4f, MV %.4f, %d iterations", dsAcc, mvAcc, res.Iterations)
	if dsAcc <= mvAcc {
		t.Errorf("DS accuracy %.4f not above majority vote %.4f", dsAcc, mvAcc)
	}
}

func TestDawidSkeneObjectiveNeverDecreases(t *testing.T) {
	t.Parallel()
	answers, _ := simulated(t, 2, animalLabels, animalPriors, biasedCrowd(), 300, 3)
	prev := math.Inf(-1)
	for n := 1; n <= 25; n++ {
		res, err := DawidSkene(context.Background(), answers, DSOptions{MaxIterations: n, Tolerance: 1e-300})
		if err != nil {
			t.Fatal(err)
		}
		if res.Iterations != n {
			t.Fatalf("ran %d iterations, want %d", res.Iterations, n)
		}
		if res.Objective < prev-1e-9*math.Abs(prev) {
			t.Fatalf("objective fell from %.9f to %.9f at iteration %d", prev, res.Objective, n)
		}
		prev = res.Objective
	}
}

func TestDawidSkeneSparse(t *testing.T) {
	t.Parallel()
	// Items with one answer, workers with one answer, a label only one
	// worker used, and a label nobody used (given in Labels).
	answers := []Answer{
		{"q1", "a", "x"}, {"q1", "b", "x"}, {"q1", "c", "y"},
		{"q2", "a", "y"}, {"q2", "b", "y"},
		{"q3", "once", "z"},
		{"q4", "a", "x"},
	}
	res, err := DawidSkene(context.Background(), answers, DSOptions{Labels: []string{"x", "y", "z", "never"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range res.Items {
		sum := 0.0
		for _, p := range it.Posterior {
			if math.IsNaN(p) || p < 0 {
				t.Fatalf("%s: posterior %v", it.Question, it.Posterior)
			}
			sum += p
		}
		if !near(sum, 1, 1e-9) {
			t.Errorf("%s: posterior sums to %v", it.Question, sum)
		}
	}
	// q3's only answer comes from a worker seen nowhere else, so the
	// likelihood cannot tell its label (maximum likelihood happily
	// explains "z" as that worker's answer to an "x"): no expectation.
	for q, want := range map[string]string{"q1": "x", "q2": "y", "q4": "x"} {
		if it, _ := res.Item(q); it.Label != want {
			t.Errorf("%s: label %s, want %s", q, it.Label, want)
		}
	}
	for _, w := range res.Workers {
		for _, row := range w.Confusion {
			for _, p := range row {
				if !(p > 0 && p < 1) {
					t.Fatalf("%s: confusion %v, want every entry in (0, 1)", w.Worker, w.Confusion)
				}
			}
		}
	}

	// A single label: everything certain, nothing NaN.
	one, err := DawidSkene(context.Background(), []Answer{{"q", "w", "only"}, {"r", "v", "only"}}, DSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if it := one.Items[0]; it.Label != "only" || it.Confidence != 1 {
		t.Errorf("single label: %s %v, want only 1", it.Label, it.Confidence)
	}
}

func TestDawidSkeneOrderInvariant(t *testing.T) {
	t.Parallel()
	answers, _ := simulated(t, 3, animalLabels, animalPriors, biasedCrowd(), 500, 3)
	a, err := DawidSkene(context.Background(), answers, DSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	shuffled := append([]Answer(nil), answers...)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	b, err := DawidSkene(context.Background(), shuffled, DSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range a.Items {
		other, _ := b.Item(it.Question)
		if other.Label != it.Label || !near(other.Confidence, it.Confidence, 1e-6) {
			t.Fatalf("%s: %s %.9f in input order, %s %.9f shuffled", it.Question, it.Label, it.Confidence, other.Label, other.Confidence)
		}
	}
}

func TestDawidSkeneKnown(t *testing.T) {
	t.Parallel()
	// Two annotators who always disagree: the answers alone cannot say
	// which is right; five gold items can.
	var answers []Answer
	truth, known := Truth{}, Truth{}
	for i := range 60 {
		q := fmt.Sprintf("q%02d", i)
		right, wrong := "a", "b"
		if i%3 == 0 {
			right, wrong = "b", "a"
		}
		truth[q] = right
		if i < 5 {
			known[q] = right
		}
		answers = append(answers, Answer{q, "truthful", right}, Answer{q, "liar", wrong})
	}
	res, err := DawidSkene(context.Background(), answers, DSOptions{Known: known})
	if err != nil {
		t.Fatal(err)
	}
	if ev := Evaluate(res, truth); ev.Accuracy != 1 {
		t.Errorf("accuracy with gold %.3f, want 1", ev.Accuracy)
	}
	it, _ := res.Item("q00")
	if it.Confidence != 1 || it.Label != "b" {
		t.Errorf("known item: %s %v, want b 1", it.Label, it.Confidence)
	}
	liar, _ := res.Worker("liar")
	if liar.Accuracy > 0.1 {
		t.Errorf("liar estimated accuracy %.3f, want ≈ 0", liar.Accuracy)
	}
	if _, err := DawidSkene(context.Background(), answers, DSOptions{Known: Truth{"q00": "c"}}); err == nil {
		t.Error("known label outside the label set accepted")
	}
}

func TestDawidSkeneWarmStart(t *testing.T) {
	t.Parallel()
	answers, truth := simulated(t, 4, animalLabels, animalPriors, biasedCrowd(), 2000, 4)
	ctx := context.Background()
	cold, err := DawidSkene(ctx, answers, DSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Started at its own fixed point, EM stops at once.
	again, err := DawidSkene(ctx, answers, DSOptions{WarmStart: cold.Model()})
	if err != nil {
		t.Fatal(err)
	}
	if again.Iterations > 2 || !again.Converged {
		t.Errorf("warm start at the optimum took %d iterations (converged %v), want ≤ 2", again.Iterations, again.Converged)
	}
	// Started from a fit of 90% of the answers, it reaches the same fit.
	first, err := DawidSkene(ctx, answers[:len(answers)*9/10], DSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	warm, err := DawidSkene(ctx, answers, DSOptions{WarmStart: first.Model()})
	if err != nil {
		t.Fatal(err)
	}
	if !warm.Converged {
		t.Errorf("warm start did not converge in %d iterations", warm.Iterations)
	}
	for _, it := range cold.Items {
		if w, _ := warm.Item(it.Question); w.Label != it.Label || !near(w.Confidence, it.Confidence, 1e-3) {
			t.Errorf("%s: warm %s %.4f, cold %s %.4f", it.Question, w.Label, w.Confidence, it.Label, it.Confidence)
		}
	}
	if c, w := Evaluate(cold, truth).Accuracy, Evaluate(warm, truth).Accuracy; c != w {
		t.Errorf("warm accuracy %.4f, cold %.4f; want the same fit", w, c)
	}
}

func TestDawidSkeneErrors(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	answers := []Answer{{"q", "w", "a"}, {"q", "v", "b"}}
	if _, err := DawidSkene(ctx, answers, DSOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: error %v, want context.Canceled", err)
	}
	sym, err := SymmetricModel([]string{"a", "b"}, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string]DSOptions{
		"negative smoothing":    {Smoothing: -1},
		"negative tolerance":    {Tolerance: -1},
		"negative iterations":   {MaxIterations: -1},
		"warm labels differ":    {Labels: []string{"b", "a"}, WarmStart: sym},
		"answer outside labels": {Labels: []string{"a", "c"}},
	} {
		if _, err := DawidSkene(context.Background(), answers, opts); !errors.Is(err, ErrInput) {
			t.Errorf("%s: error %v, want ErrInput", name, err)
		}
	}
	if _, err := DawidSkene(context.Background(), []Answer{{"q", "", "a"}}, DSOptions{}); err == nil {
		t.Error("empty worker accepted")
	}
}

func indexOf(s []string, x string) int {
	for i, v := range s {
		if v == x {
			return i
		}
	}
	return -1
}
