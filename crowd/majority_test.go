package crowd

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestMajorityVote(t *testing.T) {
	t.Parallel()
	answers := []Answer{
		{"q1", "a", "x"}, {"q1", "b", "x"}, {"q1", "c", "y"},
		{"q2", "a", "y"}, {"q2", "b", "z"}, {"q2", "c", "y"}, {"q2", "d", "y"},
		{"q3", "d", "z"},
	}
	res, err := MajorityVote(answers, MajorityOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(res.Labels, ","), "x,y,z"; got != want {
		t.Errorf("labels %s, want %s", got, want)
	}
	tests := []struct {
		q     string
		label string
		conf  float64
		n     int
	}{
		{"q1", "x", 2.0 / 3, 3},
		{"q2", "y", 3.0 / 4, 4},
		{"q3", "z", 1, 1},
	}
	for _, tt := range tests {
		it, ok := res.Item(tt.q)
		if !ok {
			t.Fatalf("no result for %s", tt.q)
		}
		if it.Label != tt.label || !near(it.Confidence, tt.conf, 1e-12) || it.Answers != tt.n {
			t.Errorf("%s: got %s %.3f n=%d, want %s %.3f n=%d", tt.q, it.Label, it.Confidence, it.Answers, tt.label, tt.conf, tt.n)
		}
	}
	// Worker c disagreed on q1 and agreed on q2.
	w, _ := res.Worker("c")
	if w.Answers != 2 || w.Accuracy != 0.5 {
		t.Errorf("worker c: %d answers accuracy %v, want 2 and 0.5", w.Answers, w.Accuracy)
	}
	if got := res.Items[0].Question; got != "q1" {
		t.Errorf("first item %s, want q1 (order of first appearance)", got)
	}
}

func TestMajorityVoteTies(t *testing.T) {
	t.Parallel()
	// 200 questions each split 1-1 between "a" and "b".
	var answers []Answer
	for i := range 200 {
		q := fmt.Sprintf("q%d", i)
		answers = append(answers, Answer{q, "w1", "a"}, Answer{q, "w2", "b"})
	}
	first, err := MajorityVote(answers, MajorityOptions{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, it := range first.Items {
		count[it.Label]++
		if it.Confidence != 0.5 {
			t.Fatalf("%s: confidence %v, want 0.5", it.Question, it.Confidence)
		}
	}
	if count["a"] < 70 || count["b"] < 70 {
		t.Errorf("tie-breaks %v, want both labels about half the time", count)
	}

	// Same seed, shuffled answers, a subset of the questions: same picks.
	shuffled := append([]Answer(nil), answers[:300]...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	again, err := MajorityVote(shuffled, MajorityOptions{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range again.Items {
		want, _ := first.Item(it.Question)
		if it.Label != want.Label {
			t.Fatalf("%s: %s after shuffling, %s before", it.Question, it.Label, want.Label)
		}
	}

	// Another seed changes some picks.
	other, err := MajorityVote(answers, MajorityOptions{Seed: 8})
	if err != nil {
		t.Fatal(err)
	}
	diff := 0
	for i, it := range other.Items {
		if it.Label != first.Items[i].Label {
			diff++
		}
	}
	if diff == 0 {
		t.Error("seed 8 broke every tie as seed 7 did")
	}
}

func TestMajorityVoteWeights(t *testing.T) {
	t.Parallel()
	answers := []Answer{{"q", "spam1", "b"}, {"q", "spam2", "b"}, {"q", "good", "a"}}
	res, err := MajorityVote(answers, MajorityOptions{Weights: map[string]float64{"spam1": 0, "spam2": 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	it := res.Items[0]
	if it.Label != "a" || !near(it.Confidence, 1/1.5, 1e-12) || it.Answers != 3 {
		t.Errorf("got %s %.3f n=%d, want a 0.667 n=3", it.Label, it.Confidence, it.Answers)
	}
	if _, err := MajorityVote(answers, MajorityOptions{Weights: map[string]float64{"good": -1}}); err == nil {
		t.Error("negative weight accepted")
	}
}

func TestMajorityVoteLabelSet(t *testing.T) {
	t.Parallel()
	answers := []Answer{{"q", "w", "b"}}
	res, err := MajorityVote(answers, MajorityOptions{Labels: []string{"b", "a", "c"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.Items[0].Posterior); got != "[1 0 0]" {
		t.Errorf("posterior %s, want [1 0 0] in the given label order", got)
	}
	_, err = MajorityVote(answers, MajorityOptions{Labels: []string{"a", "c"}})
	if err == nil || !strings.Contains(err.Error(), `label "b" not in the label set`) {
		t.Errorf("error %v, want label b outside the set", err)
	}
	if _, err := MajorityVote(nil, MajorityOptions{}); err == nil {
		t.Error("no answers accepted")
	}
}

func near(a, b, tol float64) bool { return a-b <= tol && b-a <= tol }
