package mlops

import (
	"context"
	"errors"
	"fmt"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// evaluate scores the model of each item (its model field, or
// params.model_ref) on params.data and emits the item with the
// evaluation added: accuracy, loss, per-class precision, recall and
// support, and the confusion matrix (rows true class, columns predicted).
func (o *Ops) evaluate(ctx context.Context, t *worker.Task) ([]task.Item, error) {
	p, err := decodeParams(t.Params)
	if err != nil {
		return nil, worker.Permanent(fmt.Errorf("stage %s: params: %w", t.Stage, err))
	}
	if p.Data == nil {
		return nil, worker.Permanent(errors.New("evaluate: params.data: missing (the labelled data to score on, e.g. {dataset: mnist, split: test})"))
	}
	data, err := o.data.load(ctx, t.Blobs, *p.Data)
	if err != nil {
		return nil, err
	}
	out := make([]task.Item, 0, len(t.Items))
	for _, it := range t.Items {
		f := itemFields(it)
		ref, err := modelRef(p, f)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		m, err := getModel(ctx, t.Blobs, ref)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		ev, err := m.Evaluate(ctx, o.backend, data)
		if err != nil {
			return nil, permanent(fmt.Errorf("item %s: %w", it.ID, err))
		}
		series := ""
		if len(t.Items) > 1 {
			series = it.ID
		}
		t.SeriesMetric(series, "accuracy", 1, ev.Accuracy)
		t.SeriesMetric(series, "loss", 1, ev.Loss)
		g := f.clone()
		g.set("accuracy", ev.Accuracy)
		g.set("evaluation", ev)
		item, err := g.item(it.ID)
		if err != nil {
			return nil, worker.Permanent(err)
		}
		out = append(out, item)
	}
	return out, nil
}

// modelRef is params.model_ref, or the item's model field.
func modelRef(p *Params, f fields) (blob.Ref, error) {
	if p.ModelRef != "" {
		return p.ModelRef, nil
	}
	var ref blob.Ref
	if ok, err := f.get("model", &ref); err != nil {
		return "", err
	} else if !ok {
		return "", worker.Permanent(errors.New("no model: the item has no model field (put the stage after a train stage) and params.model_ref is not set"))
	}
	return ref, nil
}
