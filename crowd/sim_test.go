package crowd

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSimulatorMatchesConfusion(t *testing.T) {
	t.Parallel()
	sim, err := NewSimulator(11, animalLabels)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range biasedCrowd()[:5] {
		want, err := a.Confusion(animalLabels)
		if err != nil {
			t.Fatal(err)
		}
		const n = 6000
		for tr, truth := range animalLabels {
			got := make([]float64, 3)
			for i := range n {
				ans, err := sim.Answer(&a, fmt.Sprint(i), truth)
				if err != nil {
					t.Fatal(err)
				}
				got[slices.Index(animalLabels, ans.Label)] += 1.0 / n
			}
			for l := range got {
				if math.Abs(got[l]-want[tr][l]) > 0.025 {
					t.Errorf("%s, truth %s: answered %s %.3f of the time, confusion says %.3f", a.ID, truth, animalLabels[l], got[l], want[tr][l])
				}
			}
		}
	}
}

func TestSimulatorDeterministic(t *testing.T) {
	t.Parallel()
	a := Annotator{ID: "x", Accuracy: 0.6, MedianTime: 10 * time.Second, TimeSpread: 0.5}
	s1, _ := NewSimulator(1, animalLabels)
	s2, _ := NewSimulator(1, animalLabels)
	s3, _ := NewSimulator(2, animalLabels)
	var seq1, seq3 []SimAnswer
	for i := range 200 {
		x, _ := s1.Answer(&a, fmt.Sprint(i), "cat")
		seq1 = append(seq1, x)
		y, _ := s3.Answer(&a, fmt.Sprint(i), "cat")
		seq3 = append(seq3, y)
	}
	// Another simulator with the same seed, asked in reverse order.
	for i := 199; i >= 0; i-- {
		x, _ := s2.Answer(&a, fmt.Sprint(i), "cat")
		if x != seq1[i] {
			t.Fatalf("item %d: %+v, then %+v in another order", i, seq1[i], x)
		}
	}
	if slices.Equal(seq1, seq3) {
		t.Error("seeds 1 and 2 gave the same answers")
	}
	// Times are log-normal around the median.
	var times []time.Duration
	for _, x := range seq1 {
		times = append(times, x.Time)
	}
	slices.Sort(times)
	if med := times[len(times)/2]; med < 8*time.Second || med > 12*time.Second {
		t.Errorf("median time %v, want ≈ 10s", med)
	}
	if times[0] == times[len(times)-1] {
		t.Error("no spread in answer times")
	}
}

func TestSimulatorSpammersAndCrowd(t *testing.T) {
	t.Parallel()
	sim, _ := NewSimulator(3, []string{"a", "b"})
	crowd, err := sim.Crowd(CrowdConfig{Honest: 3, MinAccuracy: 0.7, MaxAccuracy: 0.9, RandomSpammers: 1, ConstantSpammers: 1, MedianTime: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, a := range crowd {
		ids = append(ids, a.ID)
		if a.Spam == Honest && (a.Accuracy < 0.7 || a.Accuracy > 0.9) {
			t.Errorf("%s accuracy %v outside [0.7, 0.9]", a.ID, a.Accuracy)
		}
	}
	if got := strings.Join(ids, ","); got != "h000,h001,h002,r000,c000" {
		t.Errorf("ids %s", got)
	}
	counts := map[string]int{}
	for i := range 1000 {
		x, _ := sim.Answer(&crowd[3], fmt.Sprint(i), "a")
		counts[x.Label]++
		if y, _ := sim.Answer(&crowd[4], fmt.Sprint(i), "b"); y.Label != "a" {
			t.Fatalf("constant spammer answered %s", y.Label)
		}
	}
	if counts["a"] < 430 || counts["b"] < 430 {
		t.Errorf("random spammer answered %v, want about half each", counts)
	}
	answers, err := sim.Collect(crowd, Truth{"q1": "a", "q2": "b"}, 4)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range answers {
		key := a.Question + "/" + a.Worker
		if seen[key] {
			t.Fatalf("%s answered twice", key)
		}
		seen[key] = true
	}
	if len(answers) != 8 {
		t.Errorf("%d answers, want 8", len(answers))
	}
}

func TestSimulatorErrors(t *testing.T) {
	t.Parallel()
	if _, err := NewSimulator(1, []string{"a"}); err == nil {
		t.Error("one label accepted")
	}
	if _, err := NewSimulator(1, []string{"a", "a"}); err == nil {
		t.Error("repeated label accepted")
	}
	sim, _ := NewSimulator(1, []string{"a", "b"})
	bad := map[string]Annotator{
		"no id":          {Accuracy: 0.5},
		"accuracy":       {ID: "x", Accuracy: 1.5},
		"class accuracy": {ID: "x", ClassAccuracy: map[string]float64{"c": 0.5}},
		"bias":           {ID: "x", Bias: map[string]float64{"a": -1}},
		"spam label":     {ID: "x", Spam: SpamConstant, SpamLabel: "c"},
		"spam kind":      {ID: "x", Spam: 9},
		"time":           {ID: "x", MedianTime: -1},
	}
	for name, a := range bad {
		if _, err := sim.Answer(&a, "q", "a"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	good := Annotator{ID: "x", Accuracy: 0.5}
	if _, err := sim.Answer(&good, "q", "c"); err == nil {
		t.Error("true label outside the set accepted")
	}
	if _, err := sim.Collect([]Annotator{good}, Truth{"q": "a"}, 2); err == nil {
		t.Error("k larger than the crowd accepted")
	}
	if _, err := sim.Crowd(CrowdConfig{Honest: 1, MinAccuracy: 0.9, MaxAccuracy: 0.5}); err == nil {
		t.Error("inverted accuracy range accepted")
	}
}
