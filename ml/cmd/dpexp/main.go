package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/ml/dataset"
	"github.com/myriadhq/myriad/ml/gorgonia"
	"github.com/myriadhq/myriad/ml/tune"
)

func main() {
	ctx := context.Background()
	b := gorgonia.Backend{}
	train, _ := dataset.LoadMNIST(dataset.Train)
	test, _ := dataset.LoadMNIST(dataset.Test)
	n, _ := strconv.Atoi(os.Args[1])
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	train, _ = train.Subset(idx)
	spec, err := ml.ParseSpec([]byte(`{input: [1, 28, 28], layers: [{kind: conv, filters: 8, kernel: 3, padding: 1}, {kind: maxpool, size: 2}, {kind: conv, filters: 16, kernel: 3, padding: 1}, {kind: maxpool, size: 2}, {kind: dense, units: 32}], optimizer: adam, learning_rate: 0.001, epochs: 1, batch_size: 64, seed: 1}`))
	if err != nil {
		panic(err)
	}
	rounds := 3
	steps := []float64{}
	for _, a := range os.Args[2:] {
		f, _ := strconv.ParseFloat(a, 64)
		steps = append(steps, f)
	}
	sh, _ := tune.Shards(train.Y, 4, 1)
	shards := make([]*ml.Dataset, 4)
	sizes := make([]int, 4)
	for i := range shards {
		shards[i], _ = train.Subset(sh[i])
		sizes[i] = shards[i].Len()
	}
	bs, _ := strconv.Atoi(os.Getenv("SHARD_BATCH"))
	local := spec.Clone()
	if bs > 0 {
		local.BatchSize = bs
	}
	if f, _ := strconv.ParseFloat(os.Getenv("LR_MULT"), 64); f > 0 {
		local.LearningRate *= f
	}
	parts, _ := strconv.Atoi(os.Getenv("PARTS"))
	parts = max(parts, 1)
	partOf := make([][]*ml.Dataset, 4)
	for s := range 4 {
		n := shards[s].Len()
		for p := range parts {
			idx := make([]int, 0)
			for i := p * n / parts; i < (p+1)*n/parts; i++ {
				idx = append(idx, i)
			}
			d, _ := shards[s].Subset(idx)
			partOf[s] = append(partOf[s], d)
		}
	}
	rounds *= parts
	for _, step := range steps {
		global, _ := b.Init(spec, 10)
		for r := range rounds {
			ws := make([]ml.Weights, 4)
			for s := range 4 {
				m, err := ml.Train(ctx, b, local, partOf[s][r%parts], global, ml.TrainOptions{Stream: ml.RoundStream(r, s), AllowMissingClasses: true})
				if err != nil {
					panic(err)
				}
				ws[s] = m.Weights
			}
			for s := range 4 {
				sizes[s] = partOf[s][r%parts].Len()
			}
			avg, _ := ml.AverageWeights(ws, sizes)
			for i := range global {
				g, a := global[i].Tensor.F32, avg[i].Tensor.F32
				for j := range g {
					g[j] += float32(step) * (a[j] - g[j])
				}
			}
			if (r+1)%parts != 0 {
				continue
			}
			m := &ml.Model{Spec: *spec, Classes: train.Classes, Weights: global}
			ev, _ := m.Evaluate(ctx, b, test)
			fmt.Printf("step %.2f round %d acc %.4f loss %.4f\n", step, r+1, ev.Accuracy, ev.Loss)
		}
	}
}
