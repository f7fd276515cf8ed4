package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/ml/dataset"
	"github.com/myriadhq/myriad/ml/gorgonia"
	"github.com/myriadhq/myriad/ml/tune"
)

// summary is what -json prints last, and what docs/ml.md records.
type summary struct {
	Data         string         `json:"data"`
	Config       string         `json:"config"`
	TrainItems   int            `json:"train_items"`
	TestItems    int            `json:"test_items"`
	Epochs       int            `json:"epochs"`
	BatchSize    int            `json:"batch_size"`
	Shards       int            `json:"shards,omitempty"`
	GOMAXPROCS   int            `json:"gomaxprocs"`
	Parallelism  int            `json:"parallelism"`
	BLAS         string         `json:"blas"`
	SecPerEpoch  float64        `json:"sec_per_epoch"`
	CPUPerEpoch  float64        `json:"cpu_sec_per_epoch"`
	TrainSeconds float64        `json:"train_seconds"`
	TestAccuracy float64        `json:"test_accuracy"`
	TestLoss     float64        `json:"test_loss"`
	Evaluation   *ml.Evaluation `json:"evaluation,omitempty"`
	Curve        []ml.Progress  `json:"curve"`
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("mltrain", flag.ContinueOnError)
	data := fs.String("data", "mnist", "dataset: mnist, fashion, or a folder of the four standard IDX files")
	config := fs.String("config", "", "model spec, YAML or JSON (required)")
	epochs := fs.Int("epochs", 0, "override the spec's epochs")
	trainLimit := fs.Int("train-limit", 0, "use only the first N training items (0: all)")
	testLimit := fs.Int("test-limit", 0, "evaluate only the first N test items (0: all)")
	par := fs.Int("parallelism", 0, "goroutines per batch (0: GOMAXPROCS)")
	shards := fs.Int("shards", 0, "data-parallel: split the training set into this many shards and train in rounds of one local epoch, averaging weights (0: single worker)")
	plain := fs.Bool("plain-average", false, "data-parallel: shards train with the spec's batch size and learning rate (default: ml.ShardSpec, batch/shards and lr·√shards)")
	every := fs.Int("report-every", 0, "also report every N batches")
	valEach := fs.Bool("eval-each-epoch", true, "evaluate the test set after every epoch (single worker)")
	modelOut := fs.String("out", "", "write the trained model file here")
	asJSON := fs.Bool("json", false, "print progress and the summary as JSON lines")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of training here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *config == "" {
		return fmt.Errorf("-config is required")
	}
	raw, err := os.ReadFile(*config)
	if err != nil {
		return err
	}
	spec, err := ml.ParseSpec(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", *config, err)
	}
	if *epochs > 0 {
		spec.Epochs = *epochs
	}
	train, test, err := load(*data)
	if err != nil {
		return err
	}
	if *trainLimit > 0 && *trainLimit < train.Len() {
		if train, err = train.Subset(seq(*trainLimit)); err != nil {
			return err
		}
	}
	if *testLimit > 0 && *testLimit < test.Len() {
		if test, err = test.Subset(seq(*testLimit)); err != nil {
			return err
		}
	}
	p := *par
	if p == 0 {
		p = runtime.GOMAXPROCS(0)
	}
	sum := summary{Data: *data, Config: *config, TrainItems: train.Len(), TestItems: test.Len(),
		Epochs: spec.Epochs, BatchSize: spec.BatchSize, Shards: *shards,
		GOMAXPROCS: runtime.GOMAXPROCS(0), Parallelism: p, BLAS: gorgonia.BLAS()}
	emit := func(v any, human string) {
		if *asJSON {
			b, _ := json.Marshal(v)
			fmt.Fprintln(out, string(b))
		} else {
			fmt.Fprintln(out, human)
		}
	}
	opts := ml.TrainOptions{Parallelism: p, ReportEvery: *every}
	// Epoch times include the test evaluation when -eval-each-epoch is
	// set; benchmarks turn it off.
	var lastEnd time.Duration
	lastCPU := cpuSeconds()
	var epochTimes, epochCPU []float64
	opts.Progress = func(pr ml.Progress) {
		sum.Curve = append(sum.Curve, pr)
		if pr.EpochEnd {
			epochTimes = append(epochTimes, (pr.Elapsed - lastEnd).Seconds())
			epochCPU = append(epochCPU, cpuSeconds()-lastCPU)
			lastEnd, lastCPU = pr.Elapsed, cpuSeconds()
		}
		kind := "batch"
		if pr.EpochEnd {
			kind = "epoch"
		}
		h := fmt.Sprintf("%s %d/%d step %d: loss %.4f acc %.4f", kind, pr.Epoch, spec.Epochs, pr.Step, pr.Loss, pr.Accuracy)
		if pr.ValAccuracy >= 0 {
			h += fmt.Sprintf(" | test loss %.4f acc %.4f", pr.ValLoss, pr.ValAccuracy)
		}
		h += fmt.Sprintf(" | %.1fs", pr.Elapsed.Seconds())
		if pr.EpochEnd {
			h += fmt.Sprintf(" (epoch %.1fs, %.1f CPU-s)", epochTimes[len(epochTimes)-1], epochCPU[len(epochCPU)-1])
		}
		emit(pr, h)
	}
	if *valEach && *shards == 0 {
		opts.Validation = test
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	b := gorgonia.Backend{}
	start := time.Now()
	var m *ml.Model
	if *shards > 0 {
		m, err = trainRounds(ctx, b, spec, train, test, *shards, *plain, opts, emit)
	} else {
		m, err = ml.Train(ctx, b, spec, train, nil, opts)
	}
	if err != nil {
		return err
	}
	sum.TrainSeconds = time.Since(start).Seconds()
	sum.SecPerEpoch = sum.TrainSeconds / float64(spec.Epochs)
	if len(epochTimes) > 0 && *shards == 0 {
		// Per-epoch times exclude the test evaluation.
		t, c := 0.0, 0.0
		for i, e := range epochTimes {
			t += e
			c += epochCPU[i]
		}
		sum.SecPerEpoch = t / float64(len(epochTimes))
		sum.CPUPerEpoch = c / float64(len(epochCPU))
	}
	ev, err := m.Evaluate(ctx, b, test)
	if err != nil {
		return err
	}
	sum.TestAccuracy, sum.TestLoss, sum.Evaluation = ev.Accuracy, ev.Loss, ev
	if *modelOut != "" {
		f, err := os.Create(*modelOut)
		if err != nil {
			return err
		}
		if err := ml.WriteModel(f, m); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if *asJSON {
		sum.Curve = nil // already printed line by line
		b, _ := json.Marshal(sum)
		fmt.Fprintln(out, string(b))
		return nil
	}
	fmt.Fprintf(out, "test accuracy %.4f (loss %.4f) on %d items; trained %d items × %d epochs in %.1fs (%.1fs/epoch, %.1f CPU-s/epoch, parallelism %d, BLAS %s)\n",
		ev.Accuracy, ev.Loss, test.Len(), train.Len(), spec.Epochs, sum.TrainSeconds, sum.SecPerEpoch, sum.CPUPerEpoch, p, sum.BLAS)
	return nil
}

func trainRounds(ctx context.Context, b ml.Backend, spec *ml.Spec, train, test *ml.Dataset, k int, plain bool,
	opts ml.TrainOptions, emit func(any, string)) (*ml.Model, error) {
	parts, err := tune.Shards(train.Y, k, spec.Seed)
	if err != nil {
		return nil, err
	}
	shards := make([]*ml.Dataset, k)
	for i, idx := range parts {
		if shards[i], err = train.Subset(idx); err != nil {
			return nil, err
		}
	}
	rounds := spec.Epochs
	local := ml.ShardSpec(spec, k)
	if plain {
		local = spec.Clone()
		local.Epochs = 1
	}
	opts.Progress = nil
	return ml.TrainRounds(ctx, b, local, shards, rounds, nil, opts, func(r int, w ml.Weights) error {
		m := &ml.Model{Spec: *local, Classes: train.Classes, Weights: w}
		ev, err := m.Evaluate(ctx, b, test)
		if err != nil {
			return err
		}
		emit(map[string]any{"round": r + 1, "test_accuracy": ev.Accuracy, "test_loss": ev.Loss},
			fmt.Sprintf("round %d/%d: test loss %.4f acc %.4f", r+1, rounds, ev.Loss, ev.Accuracy))
		return nil
	})
}

func load(name string) (train, test *ml.Dataset, err error) {
	switch name {
	case "mnist":
		if train, err = dataset.LoadMNIST(dataset.Train); err == nil {
			test, err = dataset.LoadMNIST(dataset.Test)
		}
	case "fashion":
		if train, err = dataset.LoadFashionMNIST(dataset.Train); err == nil {
			test, err = dataset.LoadFashionMNIST(dataset.Test)
		}
	default:
		train, test, err = dataset.LoadDir(name)
	}
	return train, test, err
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// cpuSeconds returns the user+system CPU time this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
