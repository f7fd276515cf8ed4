package imageops

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/myriadhq/myriad/imgproc"
	"github.com/myriadhq/myriad/imgproc/clean"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// cleanOp is the clean reduce: check every image (decodable, within size
// limits, perceptual hash) in parallel, then merge: kept items are the
// output, rejected ones come out Dropped with "reason: detail" (and
// "duplicate_of" in their data), so the job's results exclude them and
// `results --dropped` is the report.
func cleanOp(ctx context.Context, t *worker.Task) ([]task.Item, error) {
	var cfg clean.Config
	if err := t.DecodeParams(&cfg); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, worker.Permanent(fmt.Errorf("stage %s: params: %w", t.Stage, err))
	}
	items := make([]imgproc.Item, len(t.Items))
	for i, it := range t.Items {
		im, err := imageItem(it)
		if err != nil {
			return nil, err
		}
		items[i] = im
	}
	checked := make([]clean.Checked, len(items))
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				checked[i], errs[i] = clean.Check(ctx, t.Blobs, items[i], &cfg)
			}
		}()
	}
	for i := range items {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	rep, err := clean.Merge(checked, &cfg)
	if err != nil {
		return nil, worker.Permanent(err)
	}
	out := make([]task.Item, 0, len(items))
	for _, k := range rep.Kept {
		o, err := output(k)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	for _, r := range rep.Rejected {
		o, err := output(r.Item)
		if err != nil {
			return nil, err
		}
		o.Data, err = jsonMerge(o.Data, map[string]any{"reason": r.Reason, "duplicate_of": r.DuplicateOf, "label_conflict": r.LabelConflict})
		if err != nil {
			return nil, err
		}
		o.Dropped = r.Reason + ": " + r.Detail
		out = append(out, o)
	}
	return out, nil
}
