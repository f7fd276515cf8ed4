package mlops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/tensor"
	"github.com/myriadhq/myriad/worker"
)

// Prediction is the fields predict adds to an item. Label and
// Probability are the fields a human stage's route reads by default, so
// `route: {below: τ}` with τ = threshold sends exactly the uncertain
// items to people and keeps the model's label for the rest.
type Prediction struct {
	Label       string    `json:"label"`
	Class       int       `json:"class"`
	Probability float32   `json:"probability"`
	Uncertain   bool      `json:"uncertain"`
	Probs       []float32 `json:"probs,omitempty"`
	// Index and TrueLabel are set when predicting over params.data, and
	// Image (a PNG data URI of the item) for uncertain items, so the
	// human stage that takes them can show them.
	Index     *int   `json:"index,omitempty"`
	TrueLabel string `json:"true_label,omitempty"`
	Image     string `json:"image,omitempty"`
}

// predict labels items with a model.
//
// With params.data, each input item names a model (its model field, e.g.
// a train stage's output, or params.model_ref) and predict emits one item
// per item of the data, id "<item id>/<index>". Without, params.model_ref
// is the model and each input item is an image tensor (its blob field, a
// tensor blob of the model's input shape: float32 preprocessed, or uint8
// raw, preprocessed as the model file says), emitted with its fields kept
// and the prediction added.
func (o *Ops) predict(ctx context.Context, t *worker.Task) ([]task.Item, error) {
	p, err := decodeParams(t.Params)
	if err != nil {
		return nil, worker.Permanent(fmt.Errorf("stage %s: params: %w", t.Stage, err))
	}
	if p.Data != nil {
		return o.predictData(ctx, t, p)
	}
	if p.ModelRef == "" {
		return nil, worker.Permanent(errors.New("predict: set params.model_ref (the model to label the items with) or params.data (the data to label with each item's model)"))
	}
	m, err := getModel(ctx, t.Blobs, p.ModelRef)
	if err != nil {
		return nil, err
	}
	var x []float32
	fs := make([]fields, len(t.Items))
	for i, it := range t.Items {
		fs[i] = itemFields(it)
		v, err := itemTensor(ctx, t.Blobs, m, fs[i])
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		x = append(x, v...)
	}
	preds, err := m.Predict(ctx, o.backend, x)
	if err != nil {
		return nil, permanent(err)
	}
	out := make([]task.Item, len(t.Items))
	for i, it := range t.Items {
		g := fs[i].clone()
		pr := prediction(preds[i], p)
		g.set("label", pr.Label)
		g.set("class", pr.Class)
		g.set("probability", pr.Probability)
		g.set("uncertain", pr.Uncertain)
		if p.Probs {
			g.set("probs", pr.Probs)
		}
		if out[i], err = g.item(it.ID); err != nil {
			return nil, worker.Permanent(err)
		}
	}
	return out, nil
}

func prediction(p ml.Prediction, params *Params) Prediction {
	out := Prediction{Label: p.Label, Class: p.Class, Probability: p.Prob, Uncertain: float64(p.Prob) < params.threshold()}
	if params.Probs {
		out.Probs = slices.Clone(p.Probs)
	}
	return out
}

func (o *Ops) predictData(ctx context.Context, t *worker.Task, p *Params) ([]task.Item, error) {
	data, err := o.data.load(ctx, t.Blobs, *p.Data)
	if err != nil {
		return nil, err
	}
	var out []task.Item
	uncertain := 0
	for _, it := range t.Items {
		ref, err := modelRef(p, itemFields(it))
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		m, err := getModel(ctx, t.Blobs, ref)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		if !slices.Equal(data.Shape, m.Spec.Input) {
			return nil, worker.Permanent(fmt.Errorf("item %s: %w: data items are %v, the model takes %v", it.ID, ml.ErrData, data.Shape, m.Spec.Input))
		}
		preds, err := m.Predict(ctx, o.backend, data.X)
		if err != nil {
			return nil, permanent(fmt.Errorf("item %s: %w", it.ID, err))
		}
		for i, pd := range preds {
			pr := prediction(pd, p)
			pr.Index = &i
			if y := data.Y[i]; y >= 0 && y < len(data.Classes) {
				pr.TrueLabel = data.Classes[y]
			}
			if pr.Uncertain {
				uncertain++
				pre := m.Preprocess
				if data.Preprocess != nil {
					pre = *data.Preprocess
				}
				pr.Image = imageURI(data.Item(i), pre, data.Shape)
			}
			f := fields{}
			f.set("prediction_of", it.ID)
			for k, v := range mustFields(pr) {
				f[k] = v
			}
			item, err := f.item(fmt.Sprintf("%s/%d", it.ID, i))
			if err != nil {
				return nil, worker.Permanent(err)
			}
			out = append(out, item)
		}
	}
	if len(out) > 0 {
		t.Metric("uncertain_share", 1, float64(uncertain)/float64(len(out)))
	}
	return out, nil
}

func mustFields(v any) fields {
	f := fields{}
	b, _ := json.Marshal(v)
	_ = json.Unmarshal(b, &f)
	return f
}

// itemTensor reads an item's image tensor (its blob field) as network
// input for m.
func itemTensor(ctx context.Context, blobs blob.Store, m *ml.Model, f fields) ([]float32, error) {
	var ref blob.Ref
	if ok, err := f.get("blob", &ref); err != nil {
		return nil, err
	} else if !ok {
		return nil, worker.Permanent(errors.New("no blob field: predict without params.data takes image tensor items ({blob: <tensor ref>}, as the image pipeline's preprocess emits)"))
	}
	rc, err := blobs.Open(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", ref, permanentIfMissing(err))
	}
	defer rc.Close()
	x, err := tensor.Decode(rc)
	if err != nil {
		return nil, worker.Permanent(fmt.Errorf("blob %s: %w", ref, err))
	}
	shape := x.Shape
	if len(shape) == 4 && shape[0] == 1 {
		shape = shape[1:]
	}
	if !slices.Equal(shape, m.Spec.Input) {
		return nil, worker.Permanent(fmt.Errorf("%w: tensor %s is %v, the model takes %v", ml.ErrData, ref, x.Shape, m.Spec.Input))
	}
	switch x.DType {
	case tensor.Float32:
		return x.F32, nil
	case tensor.Uint8:
		v, err := m.Preprocess.ApplyUint8(x.U8)
		if err != nil {
			return nil, worker.Permanent(err)
		}
		return v, nil
	}
	return nil, worker.Permanent(fmt.Errorf("%w: tensor %s has type %v", ml.ErrData, ref, x.DType))
}
