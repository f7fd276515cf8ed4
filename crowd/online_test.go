package crowd

import (
	"context"
	"sync"
	"testing"
)

func TestEstimator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	answers, _ := simulated(t, 5, animalLabels, animalPriors, biasedCrowd(), 400, 3)
	cold, err := SymmetricModel(animalLabels, 0.7)
	if err != nil {
		t.Fatal(err)
	}
	est, err := NewEstimator(EstimatorOptions{DS: DSOptions{Labels: animalLabels}, RefitEvery: 100, Cold: cold})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := est.Model(ctx); err != nil || m != cold {
		t.Fatalf("before any answer: model %p err %v, want the cold model", m, err)
	}
	est.Add(answers[:99]...)
	if m, _ := est.Model(ctx); m != cold || est.Result() != nil {
		t.Fatal("refitted before RefitEvery answers")
	}
	est.Add(answers[99])
	m, err := est.Model(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m == cold || est.Result() == nil || len(m.Confusion) == 0 {
		t.Fatal("no refit after RefitEvery answers")
	}
	first := est.Result()
	if got := len(first.Items); got == 0 || first.Items[0].Answers == 0 {
		t.Fatalf("fit has %d items", got)
	}
	if again, _ := est.Model(ctx); again != m {
		t.Error("refitted without new answers")
	}

	// Warm-started refits match a cold fit of the same answers.
	est.Add(answers[100:]...)
	res, err := est.Refit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := DawidSkene(ctx, answers, DSOptions{Labels: animalLabels})
	if err != nil {
		t.Fatal(err)
	}
	diff := 0
	for _, it := range direct.Items {
		if got, _ := res.Item(it.Question); got.Label != it.Label {
			diff++
		}
	}
	if diff > len(direct.Items)/100 {
		t.Errorf("incremental fit differs from a direct fit on %d of %d items", diff, len(direct.Items))
	}
	if est.Len() != len(answers) {
		t.Errorf("Len %d, want %d", est.Len(), len(answers))
	}
}

func TestEstimatorConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	answers, _ := simulated(t, 6, animalLabels, animalPriors, biasedCrowd(), 200, 3)
	est, err := NewEstimator(EstimatorOptions{RefitEvery: 50})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := est.Refit(ctx); res != nil || err != nil {
		t.Fatalf("refit with no answers: %v %v, want nil nil", res, err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < len(answers); i += 4 {
				est.Add(answers[i])
				if _, err := est.Model(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	res, err := est.Refit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Items); n != 200 {
		t.Errorf("final fit has %d items, want 200", n)
	}
}

func TestWorkerModelShrunk(t *testing.T) {
	t.Parallel()
	m := &WorkerModel{
		Labels:    []string{"a", "b"},
		Priors:    []float64{0.5, 0.5},
		Fallback:  [][]float64{{0.8, 0.2}, {0.2, 0.8}},
		Confusion: map[string][][]float64{"new": {{1, 0}, {0, 1}}, "old": {{1, 0}, {0, 1}}, "bare": {{1, 0}, {0, 1}}},
		Support:   map[string][]float64{"new": {2, 0}, "old": {990, 1000}},
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	s := m.Shrunk(10)
	if got := s.Confusion["new"]; !near(got[0][0], (2+8.0)/12, 1e-12) || !near(got[1][1], 0.8, 1e-12) {
		t.Errorf("new worker: %v, want row a (2·1+10·0.8)/12 and row b the fallback 0.8", got)
	}
	if got := s.Confusion["old"][0][0]; !near(got, (990+8.0)/1000, 1e-12) {
		t.Errorf("old worker: %v, want ≈ own estimate", got)
	}
	if got := s.Confusion["bare"][0][0]; got != 1 {
		t.Errorf("worker without support changed to %v", got)
	}
	if m.Confusion["new"][0][0] != 1 {
		t.Error("Shrunk modified its receiver")
	}
	if err := s.Validate(); err != nil {
		t.Errorf("shrunk model invalid: %v", err)
	}
	if acc, known := s.Accuracy("stranger"); known || !near(acc, 0.8, 1e-12) {
		t.Errorf("stranger: accuracy %v known %v, want the fallback's 0.8", acc, known)
	}
}

func TestWorkerModelValidate(t *testing.T) {
	t.Parallel()
	good := func() *WorkerModel {
		m, _ := SymmetricModel([]string{"a", "b"}, 0.8)
		return m
	}
	tests := map[string]func(*WorkerModel){
		"no labels":        func(m *WorkerModel) { m.Labels = nil },
		"repeated label":   func(m *WorkerModel) { m.Labels = []string{"a", "a"} },
		"priors sum":       func(m *WorkerModel) { m.Priors = []float64{0.5, 0.6} },
		"short priors":     func(m *WorkerModel) { m.Priors = []float64{1} },
		"bad fallback row": func(m *WorkerModel) { m.Fallback[0] = []float64{0.5, 0.4} },
		"worker rows":      func(m *WorkerModel) { m.Confusion = map[string][][]float64{"w": {{1, 0}}} },
		"negative":         func(m *WorkerModel) { m.Confusion = map[string][][]float64{"w": {{1.5, -0.5}, {0, 1}}} },
		"support":          func(m *WorkerModel) { m.Support = map[string][]float64{"w": {1}} },
	}
	for name, mutate := range tests {
		m := good()
		mutate(m)
		if m.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := SymmetricModel([]string{"a"}, 0.8); err == nil {
		t.Error("one-label symmetric model accepted")
	}
	if _, err := SymmetricModel([]string{"a", "b"}, 1); err == nil {
		t.Error("accuracy 1 accepted")
	}
	if _, err := NewEstimator(EstimatorOptions{RefitEvery: -1}); err == nil {
		t.Error("negative RefitEvery accepted")
	}
}
