package imageops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/myriadhq/myriad/imgproc"
	"github.com/myriadhq/myriad/imgproc/pack"
	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// PackParams are a pack stage's params.
type PackParams struct {
	// Classes fixes the class list (index = position); default the sorted
	// distinct labels.
	Classes []string `json:"classes,omitempty"`
	// Preprocess is recorded in the dataset so a trained model can say how
	// to feed it (optional).
	Preprocess *ml.Preprocess `json:"preprocess,omitempty"`
	// ID names the output item; default "dataset".
	ID string `json:"id,omitempty"`
}

// packOp gathers every tensor item into one packed dataset and outputs a
// single item: pack.Info (dataset ref, tensor ref, shape, classes,
// counts). A trainer calls pack.Load with the dataset ref.
func packOp(ctx context.Context, t *worker.Task) ([]task.Item, error) {
	var p PackParams
	if err := t.DecodeParams(&p); err != nil {
		return nil, err
	}
	items := make([]imgproc.Item, len(t.Items))
	for i, it := range t.Items {
		im, err := imageItem(it)
		if err != nil {
			return nil, err
		}
		items[i] = im
	}
	info, err := pack.Build(ctx, t.Blobs, items, pack.Options{Classes: p.Classes, Preprocess: p.Preprocess})
	if errors.Is(err, pack.ErrInput) {
		return nil, worker.Permanent(err)
	}
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(info)
	if err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	id := p.ID
	if id == "" {
		id = "dataset"
	}
	return []task.Item{{ID: id, Data: data}}, nil
}

// jsonMerge adds fields (those not zero) to a JSON object.
func jsonMerge(obj json.RawMessage, add map[string]any) (json.RawMessage, error) {
	var m map[string]any
	if err := json.Unmarshal(obj, &m); err != nil {
		return nil, err
	}
	for k, v := range add {
		switch x := v.(type) {
		case string:
			if x == "" {
				continue
			}
		case bool:
			if !x {
				continue
			}
		}
		m[k] = v
	}
	return json.Marshal(m)
}
