package mlops

import (
	"context"
	"fmt"

	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// train trains params.model on each item's data and emits the item with
// the model file's ref added (model), and the run's final training loss
// and accuracy. An item's params field (a search's winner) overrides
// fields of the model, as a trial does.
func (o *Ops) train(ctx context.Context, t *worker.Task) ([]task.Item, error) {
	p, base, err := o.taskParams(t)
	if err != nil {
		return nil, err
	}
	out := make([]task.Item, 0, len(t.Items))
	for _, it := range t.Items {
		f := itemFields(it)
		spec, err := trialSpec(base, f)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		ref, err := dataRef(p, f)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		data, err := o.data.load(ctx, t.Blobs, ref)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		var val *ml.Dataset
		if p.Validation != nil {
			if val, err = o.data.load(ctx, t.Blobs, *p.Validation); err != nil {
				return nil, fmt.Errorf("item %s: validation: %w", it.ID, err)
			}
		}
		series := ""
		if len(t.Items) > 1 {
			series = it.ID
		}
		var last ml.Progress
		m, err := ml.Train(ctx, o.backend, spec, data, nil, ml.TrainOptions{
			Validation:  val,
			Parallelism: p.Parallelism,
			Progress: func(pr ml.Progress) {
				if pr.EpochEnd {
					last = pr
					reportEpoch(t, series, pr.Epoch, pr)
				}
			},
		})
		if err != nil {
			return nil, permanent(fmt.Errorf("item %s: %w", it.ID, err))
		}
		mref, err := putModel(ctx, t.Blobs, m)
		if err != nil {
			return nil, err
		}
		g := f.clone()
		g.set("model", mref)
		g.set("classes", m.Classes)
		g.set("trained_on", data.Len())
		g.set("loss", last.Loss)
		g.set("accuracy", last.Accuracy)
		if val != nil {
			g.set("val_accuracy", last.ValAccuracy)
		}
		item, err := g.item(it.ID)
		if err != nil {
			return nil, worker.Permanent(fmt.Errorf("item %s: %w", it.ID, err))
		}
		out = append(out, item)
	}
	return out, nil
}

// reportEpoch stores an epoch's curve points.
func reportEpoch(t *worker.Task, series string, step int, pr ml.Progress) {
	t.SeriesMetric(series, "loss", step, pr.Loss)
	t.SeriesMetric(series, "accuracy", step, pr.Accuracy)
	if pr.ValAccuracy >= 0 {
		t.SeriesMetric(series, "val_loss", step, pr.ValLoss)
		t.SeriesMetric(series, "val_accuracy", step, pr.ValAccuracy)
	}
}

// trialSpec is base with the item's params (a trial's or a search
// winner's overrides) applied.
func trialSpec(base *ml.Spec, f fields) (*ml.Spec, error) {
	var over map[string]any
	if _, err := f.get("params", &over); err != nil {
		return nil, err
	}
	if len(over) == 0 {
		return base, nil
	}
	s, err := base.WithParams(over)
	if err != nil {
		return nil, worker.Permanent(err)
	}
	return s, nil
}

// taskParams decodes the stage's params and its model.
func (o *Ops) taskParams(t *worker.Task) (*Params, *ml.Spec, error) {
	p, err := decodeParams(t.Params)
	if err != nil {
		return nil, nil, worker.Permanent(fmt.Errorf("stage %s: params: %w", t.Stage, err))
	}
	s, err := p.spec()
	if err != nil {
		return nil, nil, worker.Permanent(fmt.Errorf("stage %s: params: %w", t.Stage, err))
	}
	return p, s, nil
}
