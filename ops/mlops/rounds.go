package mlops

import (
	"context"
	"fmt"
	"slices"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/ml/tune"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// Fields of a data-parallel shard item.
const (
	fShard   = "shard"
	fRound   = "round"
	fWeights = "weights"
)

// shards starts data-parallel training: it checks each item's data (a
// class with no items anywhere is an error now, not after a round) and
// fans the item out into one shard item per shard for round 1, which
// starts from fresh weights drawn from the model's seed.
func (o *Ops) shards(ctx context.Context, t *worker.Task) ([]task.Item, error) {
	p, base, err := o.taskParams(t)
	if err != nil {
		return nil, err
	}
	var out []task.Item
	for _, it := range t.Items {
		f := itemFields(it)
		ref, err := dataRef(p, f)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		data, err := o.data.load(ctx, t.Blobs, ref)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		if err := data.CheckAllClasses(); err != nil {
			return nil, worker.Permanent(fmt.Errorf("item %s: %w", it.ID, err))
		}
		if !slices.Equal(data.Shape, base.Input) {
			return nil, worker.Permanent(fmt.Errorf("item %s: %w: items are %v, the model's input is %v", it.ID, ml.ErrData, data.Shape, base.Input))
		}
		if _, err := tune.Shards(data.Y, p.Shards, p.seed(base)); err != nil {
			return nil, worker.Permanent(fmt.Errorf("item %s: %w", it.ID, err))
		}
		for s := range p.Shards {
			g := f.clone()
			g.set(fOf, it.ID)
			g.set(fShard, s)
			g.set(fRound, 1)
			item, err := g.item(fmt.Sprintf("%s/shard%d", it.ID, s))
			if err != nil {
				return nil, worker.Permanent(err)
			}
			out = append(out, item)
		}
	}
	return out, nil
}

// round trains one shard for LocalEpochs epochs from the round's global
// weights (the item's weights field; fresh weights in round 1) and emits
// the shard's weights as a blob with the shard's size. The shard's batch
// size and learning rate are ml.ShardSpec's (the model's batch is the
// global batch) unless params set them. Its random stream
// is ml.RoundStream(round-1, shard), as in ml.TrainRounds, so a retried
// microtask recomputes the same weights.
func (o *Ops) round(ctx context.Context, t *worker.Task) ([]task.Item, error) {
	p, base, err := o.taskParams(t)
	if err != nil {
		return nil, err
	}
	out := make([]task.Item, 0, len(t.Items))
	for _, it := range t.Items {
		f := itemFields(it)
		// A search's winner (the item's params) trains the rounds.
		ts, err := trialSpec(base, f)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		spec := p.shardSpec(ts)
		s, err := f.mustInt(fShard)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		r, err := f.mustInt(fRound)
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
		idx, err := tune.Shards(data.Y, p.Shards, p.seed(base))
		if err != nil || s < 0 || s >= len(idx) {
			return nil, worker.Permanent(fmt.Errorf("item %s: shard %d of %d: %v", it.ID, s, p.Shards, err))
		}
		shard, err := data.Subset(idx[s])
		if err != nil {
			return nil, permanent(err)
		}
		var init ml.Weights
		var wref blob.Ref
		if ok, err := f.get(fWeights, &wref); err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		} else if ok {
			if init, err = getWeights(ctx, t.Blobs, wref); err != nil {
				return nil, fmt.Errorf("item %s: %w", it.ID, err)
			}
		} else if init, err = o.backend.Init(spec, len(data.Classes)); err != nil {
			return nil, permanent(fmt.Errorf("item %s: %w", it.ID, err))
		}
		var last ml.Progress
		m, err := ml.Train(ctx, o.backend, spec, shard, init, ml.TrainOptions{
			Stream:              ml.RoundStream(r-1, s),
			AllowMissingClasses: true,
			Parallelism:         p.Parallelism,
			Progress: func(pr ml.Progress) {
				if pr.EpochEnd {
					last = pr
				}
			},
		})
		if err != nil {
			return nil, permanent(fmt.Errorf("item %s: round %d shard %d: %w", it.ID, r, s, err))
		}
		t.SeriesMetric(fmt.Sprintf("shard %d", s), "loss", r, last.Loss)
		t.SeriesMetric(fmt.Sprintf("shard %d", s), "accuracy", r, last.Accuracy)
		sref, err := putWeights(ctx, t.Blobs, m.Weights)
		if err != nil {
			return nil, err
		}
		g := f.clone()
		g.set(fWeights, sref)
		g.set("n", shard.Len())
		g.set("loss", last.Loss)
		g.set("accuracy", last.Accuracy)
		g.set("classes", data.Classes)
		g.set("preprocess", m.Preprocess)
		item, err := g.item(it.ID)
		if err != nil {
			return nil, worker.Permanent(err)
		}
		out = append(out, item)
	}
	return out, nil
}

// shardResult is what merge reads of a round's output item.
type shardResult struct {
	Shard      int           `json:"shard"`
	Round      int           `json:"round"`
	Weights    blob.Ref      `json:"weights"`
	N          int           `json:"n"`
	Loss       float64       `json:"loss"`
	Accuracy   float64       `json:"accuracy"`
	Classes    []string      `json:"classes"`
	Preprocess ml.Preprocess `json:"preprocess"`
}

// merge averages a round's shard weights, weighted by shard size, in
// shard order (ml.AverageWeights), and either starts the next round (one
// item per shard carrying the new global weights) or, after the last
// round, writes the model file and emits the model item.
func (o *Ops) merge(ctx context.Context, t *worker.Task) ([]task.Item, error) {
	p, base, err := o.taskParams(t)
	if err != nil {
		return nil, err
	}
	rounds := p.rounds(base)
	keys, groups, err := groupBy(t.Items, fOf)
	if err != nil {
		return nil, worker.Permanent(err)
	}
	var out []task.Item
	for _, of := range keys {
		res := make([]shardResult, len(groups[of]))
		for i, f := range groups[of] {
			item, err := f.item("")
			if err != nil {
				return nil, worker.Permanent(err)
			}
			if err := decodeInto(item.Data, &res[i]); err != nil {
				return nil, fmt.Errorf("item %s: %w", of, err)
			}
		}
		order := make([]int, len(res))
		for i := range order {
			order[i] = i
		}
		sortBy(order, func(i int) int { return res[i].Shard })
		if len(res) != p.Shards {
			return nil, worker.Permanent(fmt.Errorf("item %s: %d shard results, want %d (a shard's microtask is dead)", of, len(res), p.Shards))
		}
		ws := make([]ml.Weights, len(res))
		sizes := make([]int, len(res))
		var loss, acc float64
		total := 0
		for k, i := range order {
			if ws[k], err = getWeights(ctx, t.Blobs, res[i].Weights); err != nil {
				return nil, fmt.Errorf("item %s shard %d: %w", of, res[i].Shard, err)
			}
			sizes[k] = res[i].N
			total += res[i].N
			loss += res[i].Loss * float64(res[i].N)
			acc += res[i].Accuracy * float64(res[i].N)
		}
		global, err := ml.AverageWeights(ws, sizes)
		if err != nil {
			return nil, permanent(fmt.Errorf("item %s: merge: %w", of, err))
		}
		r := res[0].Round
		series := ""
		if len(keys) > 1 {
			series = of
		}
		t.SeriesMetric(series, "loss", r, loss/float64(max(total, 1)))
		t.SeriesMetric(series, "accuracy", r, acc/float64(max(total, 1)))
		ts, err := trialSpec(base, groups[of][0])
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", of, err)
		}
		m := &ml.Model{Backend: o.backend.Name(), Spec: *ts.Clone(), Classes: res[0].Classes, Preprocess: res[0].Preprocess, Weights: global}
		if p.Validation != nil {
			val, err := o.data.load(ctx, t.Blobs, *p.Validation)
			if err != nil {
				return nil, fmt.Errorf("validation: %w", err)
			}
			ev, err := m.Evaluate(ctx, o.backend, val)
			if err != nil {
				return nil, permanent(fmt.Errorf("item %s: validation: %w", of, err))
			}
			t.SeriesMetric(series, "val_loss", r, ev.Loss)
			t.SeriesMetric(series, "val_accuracy", r, ev.Accuracy)
		}
		first := groups[of][0].clone(fShard, fRound, fWeights, "n", "loss", "accuracy", "preprocess")
		if r < rounds {
			gref, err := putWeights(ctx, t.Blobs, global)
			if err != nil {
				return nil, err
			}
			for s := range p.Shards {
				g := first.clone()
				g.set(fShard, s)
				g.set(fRound, r+1)
				g.set(fWeights, gref)
				item, err := g.item(fmt.Sprintf("%s/shard%d", of, s))
				if err != nil {
					return nil, worker.Permanent(err)
				}
				out = append(out, item)
			}
			continue
		}
		mref, err := putModel(ctx, t.Blobs, m)
		if err != nil {
			return nil, err
		}
		g := first.clone(fOf)
		g.set("model", mref)
		g.set("trained_on", total)
		g.set("rounds", rounds)
		g.set("shards", p.Shards)
		g.set("loss", loss/float64(max(total, 1)))
		g.set("accuracy", acc/float64(max(total, 1)))
		item, err := g.item(of)
		if err != nil {
			return nil, worker.Permanent(err)
		}
		out = append(out, item)
	}
	return out, nil
}
