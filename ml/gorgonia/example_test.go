package gorgonia_test

import (
	"bytes"
	"context"
	"fmt"
	"log"

	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/ml/dataset"
	"github.com/myriadhq/myriad/ml/gorgonia"
)

// The train, evaluate and predict operators in a few lines: parse a spec,
// train on digits, evaluate, save and reload the model, and find the
// items it is least sure of (the ones to route to people).
func Example() {
	spec, err := ml.ParseSpec([]byte(`
input: [1, 28, 28]
layers:
  - {kind: conv, filters: 8, kernel: 5}
  - {kind: maxpool, size: 2}
  - {kind: dense, units: 32}
epochs: 2
batch_size: 32
seed: 1`))
	if err != nil {
		log.Fatal(err)
	}
	all, err := dataset.LoadMNIST(dataset.Test)
	if err != nil {
		log.Fatal(err)
	}
	first := func(n, off int) *ml.Dataset {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = off + i
		}
		d, err := all.Subset(idx)
		if err != nil {
			log.Fatal(err)
		}
		return d
	}
	train, test := first(500, 0), first(200, 500)
	b := gorgonia.Backend{}
	m, err := ml.Train(context.Background(), b, spec, train, nil, ml.TrainOptions{
		Progress: func(p ml.Progress) { fmt.Printf("epoch %d loss %.3f\n", p.Epoch, p.Loss) },
	})
	if err != nil {
		log.Fatal(err)
	}
	ev, err := m.Evaluate(context.Background(), b, test)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("accuracy %.2f\n", ev.Accuracy)

	var file bytes.Buffer
	if err := ml.WriteModel(&file, m); err != nil {
		log.Fatal(err)
	}
	loaded, err := ml.ReadModel(&file)
	if err != nil {
		log.Fatal(err)
	}
	preds, err := loaded.Predict(context.Background(), b, test.X)
	if err != nil {
		log.Fatal(err)
	}
	for i, p := range preds {
		if p.Prob < 0.5 {
			fmt.Printf("item %d: %s with probability %.2f: ask a person\n", i, p.Label, p.Prob)
		}
	}
}
