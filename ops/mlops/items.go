package mlops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// fields is an item's data as an object; a non-object item is {} plus
// its value under "value", so operators can add fields to any item.
type fields map[string]json.RawMessage

func itemFields(it task.Item) fields {
	var f fields
	if err := json.Unmarshal(it.Data, &f); err != nil || f == nil {
		f = fields{}
		if len(it.Data) > 0 && string(it.Data) != "null" {
			f["value"] = it.Data
		}
	}
	return f
}

// set adds or replaces a field. A value JSON cannot hold (a NaN
// loss) leaves the field out.
func (f fields) set(name string, v any) {
	if b, err := json.Marshal(v); err == nil {
		f[name] = b
	}
}

// get decodes a field into v; it reports false if the field is absent.
func (f fields) get(name string, v any) (bool, error) {
	raw, ok := f[name]
	if !ok || string(raw) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, worker.Permanent(fmt.Errorf("field %s: %w", name, err))
	}
	return true, nil
}

func (f fields) item(id string) (task.Item, error) {
	b, err := json.Marshal(map[string]json.RawMessage(f))
	if err != nil {
		return task.Item{}, err
	}
	return task.Item{ID: id, Data: b}, nil
}

// clone copies f without the named fields.
func (f fields) clone(drop ...string) fields {
	out := make(fields, len(f))
	for k, v := range f {
		out[k] = v
	}
	for _, k := range drop {
		delete(out, k)
	}
	return out
}

// mustInt reads an integer field that an earlier stage of ours wrote.
func (f fields) mustInt(name string) (int, error) {
	var v int
	ok, err := f.get(name, &v)
	if err == nil && !ok {
		err = worker.Permanent(fmt.Errorf("field %s: missing", name))
	}
	return v, err
}

// dataRef is the data an operator uses for an item: params.data, or the
// item's own dataset field (what the pack operator emits, or an input
// item such as {dataset: mnist, split: train, limit: 2000}).
func dataRef(p *Params, f fields) (DataRef, error) {
	if p.Data != nil {
		return *p.Data, nil
	}
	var d DataRef
	if _, err := f.get("dataset", &d.Dataset); err != nil {
		return d, err
	}
	if _, err := f.get("split", &d.Split); err != nil {
		return d, err
	}
	if _, err := f.get("limit", &d.Limit); err != nil {
		return d, err
	}
	if d.Dataset == "" {
		return d, worker.Permanent(errors.New("no data: set params.data (e.g. {dataset: mnist, split: train, limit: 2000}) or give items a dataset field"))
	}
	return d, nil
}

// permanent marks the errors of bad input (spec, data, labels, a
// diverging run) as not worth retrying: the microtask is dead at once
// with the message.
func permanent(err error) error {
	for _, e := range []error{ml.ErrInvalidSpec, ml.ErrData, ml.ErrLabels, ml.ErrNaNLoss, ml.ErrWeights, ml.ErrModelFile} {
		if errors.Is(err, e) {
			return worker.Permanent(err)
		}
	}
	return err
}

// putModel writes m as a model file blob.
func putModel(ctx context.Context, blobs blob.Store, m *ml.Model) (blob.Ref, error) {
	var buf bytes.Buffer
	if err := ml.WriteModel(&buf, m); err != nil {
		return "", fmt.Errorf("write model: %w", err)
	}
	ref, err := blobs.Put(ctx, &buf)
	if err != nil {
		return "", fmt.Errorf("store model: %w", err)
	}
	return ref, nil
}

// maxModel bounds a model file read from the blob store.
const maxModel = 1 << 30

// getModel reads a model file blob.
func getModel(ctx context.Context, blobs blob.Store, ref blob.Ref) (*ml.Model, error) {
	raw, err := blob.Get(ctx, blobs, ref, maxModel)
	if err != nil {
		return nil, fmt.Errorf("read model %s: %w", ref, permanentIfMissing(err))
	}
	m, err := ml.ReadModel(bytes.NewReader(raw))
	if err != nil {
		return nil, worker.Permanent(fmt.Errorf("read model %s: %w", ref, err))
	}
	return m, nil
}

// putWeights and getWeights store a checkpoint (the global weights of a
// data-parallel round, a shard's weights).
func putWeights(ctx context.Context, blobs blob.Store, w ml.Weights) (blob.Ref, error) {
	var buf bytes.Buffer
	if err := ml.EncodeWeights(&buf, w); err != nil {
		return "", fmt.Errorf("encode weights: %w", err)
	}
	ref, err := blobs.Put(ctx, &buf)
	if err != nil {
		return "", fmt.Errorf("store weights: %w", err)
	}
	return ref, nil
}

func getWeights(ctx context.Context, blobs blob.Store, ref blob.Ref) (ml.Weights, error) {
	raw, err := blob.Get(ctx, blobs, ref, maxModel)
	if err != nil {
		return nil, fmt.Errorf("read weights %s: %w", ref, permanentIfMissing(err))
	}
	w, err := ml.DecodeWeights(bytes.NewReader(raw))
	if err != nil {
		return nil, worker.Permanent(fmt.Errorf("read weights %s: %w", ref, err))
	}
	return w, nil
}

// groupBy groups items by a string field; keys are sorted, items keep
// their order within a group.
func groupBy(items []task.Item, field string) ([]string, map[string][]fields, error) {
	var keys []string
	groups := map[string][]fields{}
	for _, it := range items {
		f := itemFields(it)
		var k string
		if _, err := f.get(field, &k); err != nil {
			return nil, nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		if _, seen := groups[k]; !seen {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], f)
	}
	sort.Strings(keys)
	return keys, groups, nil
}

// decodeInto decodes item data that our own stages wrote.
func decodeInto(data json.RawMessage, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return worker.Permanent(fmt.Errorf("decode: %w", err))
	}
	return nil
}
