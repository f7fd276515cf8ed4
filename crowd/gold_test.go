package crowd

import (
	"context"
	"reflect"
	"testing"
)

func TestGoldAndAgreement(t *testing.T) {
	t.Parallel()
	gold := Truth{"g1": "a", "g2": "b", "g3": "a"}
	answers := []Answer{
		{"g1", "good", "a"}, {"g2", "good", "b"}, {"g3", "good", "a"},
		{"g1", "bad", "b"}, {"g2", "bad", "b"}, {"g3", "bad", "b"},
		{"g1", "new", "b"},
		{"q1", "good", "a"}, {"q1", "bad", "b"}, {"q1", "nogold", "a"},
	}
	stats := GoldAccuracy(answers, gold)
	want := []GoldStats{
		{Worker: "good", Answered: 3, Correct: 3, Accuracy: 1},
		{Worker: "bad", Answered: 3, Correct: 1, Accuracy: 1.0 / 3},
		{Worker: "new", Answered: 1, Correct: 0, Accuracy: 0},
	}
	if !reflect.DeepEqual(stats, want) {
		t.Fatalf("gold stats %+v, want %+v", stats, want)
	}

	pause := PausePolicy{MinGold: 3, MinAccuracy: 0.7}
	if err := pause.Validate(); err != nil {
		t.Fatal(err)
	}
	// "new" is below threshold but has too few gold answers to judge.
	if got := pause.Paused(stats); !reflect.DeepEqual(got, map[string]bool{"bad": true}) {
		t.Errorf("paused %v, want only bad", got)
	}
	kept := Without(answers, pause.Paused(stats))
	for _, a := range kept {
		if a.Worker == "bad" {
			t.Fatal("Without kept a paused worker's answer")
		}
	}
	if len(kept) != 6 {
		t.Errorf("kept %d answers, want 6", len(kept))
	}

	agree := Agreement(answers, map[string]string{"q1": "a", "g1": "a"})
	wantAgree := []AgreementStats{
		{Worker: "good", Compared: 2, Agreed: 2, Agreement: 1},
		{Worker: "bad", Compared: 2, Agreed: 0, Agreement: 0},
		{Worker: "new", Compared: 1, Agreed: 0, Agreement: 0},
		{Worker: "nogold", Compared: 1, Agreed: 1, Agreement: 1},
	}
	if !reflect.DeepEqual(agree, wantAgree) {
		t.Errorf("agreement %+v, want %+v", agree, wantAgree)
	}

	for _, bad := range []PausePolicy{{MinGold: 0, MinAccuracy: 0.5}, {MinGold: 1, MinAccuracy: 1.5}} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestReport(t *testing.T) {
	t.Parallel()
	answers, truth := simulated(t, 7, animalLabels, animalPriors, biasedCrowd(), 600, 5)
	// Take the first 150 items (sorted) as gold.
	gold := Truth{}
	for i := range 150 {
		gold[itemName(i)] = truth[itemName(i)]
	}
	res, err := DawidSkene(context.Background(), answers, DSOptions{Known: gold})
	if err != nil {
		t.Fatal(err)
	}
	rep := Report(answers, gold, res, PausePolicy{MinGold: 10, MinAccuracy: 0.5})
	if len(rep) != len(biasedCrowd()) {
		t.Fatalf("report has %d annotators, want %d", len(rep), len(biasedCrowd()))
	}
	byID := map[string]AnnotatorReport{}
	total := 0
	for _, r := range rep {
		byID[r.Worker] = r
		total += r.Answers
	}
	if total != len(answers) {
		t.Errorf("report counts %d answers, want %d", total, len(answers))
	}
	for _, id := range []string{"rand1", "rand2", "always-bird"} {
		if r := byID[id]; !r.Paused || r.Gold.Answered < 10 {
			t.Errorf("%s: paused %v after %d gold answers (accuracy %.2f), want paused", id, r.Paused, r.Gold.Answered, r.Gold.Accuracy)
		}
	}
	if r := byID["h15"]; r.Paused || r.Estimated < 0.85 || r.Agreement < 0.8 {
		t.Errorf("best honest annotator: %+v", r)
	}
}
