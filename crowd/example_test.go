package crowd_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/myriadhq/myriad/crowd"
)

func ExampleDawidSkene() {
	answers := []crowd.Answer{
		{Question: "img1", Worker: "ann", Label: "cat"},
		{Question: "img1", Worker: "bob", Label: "cat"},
		{Question: "img1", Worker: "eve", Label: "dog"},
		{Question: "img2", Worker: "ann", Label: "dog"},
		{Question: "img2", Worker: "bob", Label: "dog"},
		{Question: "img2", Worker: "eve", Label: "cat"},
		{Question: "img3", Worker: "ann", Label: "cat"},
		{Question: "img3", Worker: "eve", Label: "dog"},
	}
	res, err := crowd.DawidSkene(context.Background(), answers, crowd.DSOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, it := range res.Items {
		fmt.Printf("%s %s %.2f\n", it.Question, it.Label, it.Confidence)
	}
	eve, _ := res.Worker("eve")
	fmt.Printf("eve's estimated accuracy %.2f\n", eve.Accuracy)
	// Output:
	// img1 cat 1.00
	// img2 dog 1.00
	// img3 cat 1.00
	// eve's estimated accuracy 0.01
}

func ExampleRedundancyPolicy_NeedMore() {
	// Before any estimate: every annotator right 80% of the time.
	model, _ := crowd.SymmetricModel([]string{"no", "yes"}, 0.8)
	policy := crowd.RedundancyPolicy{Threshold: 0.95, MinAnswers: 3, MaxAnswers: 7}
	var answers []crowd.Answer
	for i, label := range []string{"yes", "no", "yes", "yes", "yes"} {
		answers = append(answers, crowd.Answer{Question: "q", Worker: fmt.Sprint("w", i), Label: label})
		d := policy.Decide(answers, model)
		fmt.Printf("%d answers: leading %s %.3f, need more: %v\n", len(answers), d.Label, d.Confidence, d.NeedMore)
		if !d.NeedMore {
			break
		}
	}
	// Output:
	// 1 answers: leading yes 0.800, need more: true
	// 2 answers: leading yes 0.500, need more: true
	// 3 answers: leading yes 0.800, need more: true
	// 4 answers: leading yes 0.941, need more: true
	// 5 answers: leading yes 0.985, need more: false
}

func ExampleAggregateCSV() {
	in := strings.NewReader("question,worker,answer\nq1,w1,a\nq1,w2,a\nq1,w3,b\n")
	if _, err := crowd.AggregateCSV(context.Background(), in, os.Stdout, crowd.AggregateOptions{Method: crowd.MethodMajority}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// question,label,confidence
	// q1,a,0.666667
}

func ExampleSimulator_Answer() {
	sim, _ := crowd.NewSimulator(42, []string{"cat", "dog"})
	honest := crowd.Annotator{ID: "h1", Accuracy: 0.9}
	spammer := crowd.Annotator{ID: "s1", Spam: crowd.SpamConstant, SpamLabel: "dog"}
	for _, a := range []crowd.Annotator{honest, spammer} {
		right := 0
		for i := range 1000 {
			ans, _ := sim.Answer(&a, fmt.Sprint("item", i), "cat")
			if ans.Label == "cat" {
				right++
			}
		}
		fmt.Printf("%s right about %d%% of the time\n", a.ID, (right+50)/100*10)
	}
	// Output:
	// h1 right about 90% of the time
	// s1 right about 0% of the time
}
