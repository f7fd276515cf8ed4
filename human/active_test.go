package human_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/crowd"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/human/sim"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// startWorker runs an in-process machine worker with extra handlers.
func startWorker(t *testing.T, url, token string, setup func(w *worker.Worker)) {
	t.Helper()
	w, err := worker.New(worker.Config{Server: url, Token: token, Slots: 2, MaxWait: time.Second, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	setup(w)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	select {
	case <-w.Connected():
	case <-time.After(30 * time.Second):
		t.Fatal("worker did not connect")
	}
}

// Active learning in a pipeline: a predict stage labels every item with
// a probability; the items it is sure of keep its label, the others go to
// people; every final label says where it came from; and the next stage
// (a training round) receives all of them.
func TestActiveLearning(t *testing.T) {
	t.Parallel()
	b := setup(t, human.Config{}, "")
	startWorker(t, b.url, b.srv.AdminToken(), func(w *worker.Worker) {
		// The model is sure (0.97) of even items and right about them; it
		// hesitates (0.6) on odd ones and gets them wrong.
		w.HandleItems("predict", func(ctx context.Context, tk *worker.Task, it task.Item) (any, error) {
			var in map[string]any
			json.Unmarshal(it.Data, &in)
			var i int
			fmt.Sscanf(in["text"].(string), "item %d", &i)
			in["probability"], in["label"] = 0.97, yesNo(i)
			if i%2 == 1 {
				in["probability"], in["label"] = 0.6, map[string]string{"yes": "no", "no": "yes"}[yesNo(i)]
			}
			return in, nil
		})
		// The next training round sees every labelled item.
		w.Handle("train", func(ctx context.Context, tk *worker.Task) ([]task.Item, error) {
			bySource := map[string]int{}
			for _, it := range tk.Items {
				var x struct {
					Label  string `json:"label"`
					Source string `json:"source"`
				}
				if err := json.Unmarshal(it.Data, &x); err != nil || x.Label == "" {
					return nil, fmt.Errorf("item %s has no label: %s", it.ID, it.Data)
				}
				bySource[x.Source]++
			}
			out, _ := json.Marshal(bySource)
			return []task.Item{{ID: "round", Data: out}}, nil
		})
	})
	toks := b.annotators(t, "al", 3)
	const n = 40
	id := submit(t, b.c, &spec.Job{Name: "active", Input: spec.Input{Items: textItems(n, "item")}, Stages: []spec.Stage{
		{Name: "predict", Op: "predict"},
		{Name: "label", Op: "human", Params: map[string]any{"labels": binary, "k": 3, "route": map[string]any{"below": 0.9}}},
		{Name: "train", Op: "train", Kind: task.Reduce},
	}})
	s, _ := crowd.NewSimulator(1, binary)
	c := &sim.Crowd{URL: b.url, Token: b.srv.AdminToken(), Job: id, Members: members(toks, func(int) crowd.Annotator { return crowd.Annotator{Accuracy: 1} }),
		Answer: sim.Modelled(s, truthByText(yesNo))}
	rep, err := c.Run(ctxT(t, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if st := wait(t, b.c, id); st.State != task.JobCompleted {
		t.Fatalf("job %s: %+v", st.State, st.Errors)
	}
	if rep.Answers != n/2*3 {
		t.Errorf("people gave %d answers, want %d (only the odd items, 3 each)", rep.Answers, n/2*3)
	}
	var labels []labelled
	err = b.c.Results(context.Background(), id, []string{"label"}, func(l *api.ResultLine) error {
		var x labelled
		json.Unmarshal(l.Data, &x)
		x.ID = l.ID
		labels = append(labels, x)
		return nil
	})
	if err != nil || len(labels) != n {
		t.Fatalf("%d labels: %v", len(labels), err)
	}
	for i, l := range labels {
		wantSource := human.SourceModel
		if i%2 == 1 {
			wantSource = human.SourceHuman
		}
		if l.Source != wantSource || l.Label == nil || *l.Label != yesNo(i) {
			t.Errorf("item %s: label %v from %s, want %s from %s", l.ID, l.Label, l.Source, yesNo(i), wantSource)
		}
		if wantSource == human.SourceModel && l.Confidence != 0.97 {
			t.Errorf("item %s: model confidence %v", l.ID, l.Confidence)
		}
		if wantSource == human.SourceHuman && (l.ModelLabel == "" || l.Confidence < 0.5) {
			t.Errorf("item %s: %+v", l.ID, l)
		}
	}
	var round map[string]int
	b.c.Results(context.Background(), id, nil, func(l *api.ResultLine) error { return json.Unmarshal(l.Data, &round) })
	if round[human.SourceModel] != n/2 || round[human.SourceHuman] != n/2 {
		t.Fatalf("the training round saw %v, want %d from the model and %d from people", round, n/2, n/2)
	}
}
