package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
)

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func submitYAML(t *testing.T, c *client.Client, doc string) string {
	t.Helper()
	j, err := spec.Parse("test.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.Submit(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	return sub.ID
}

func results(t *testing.T, c *client.Client, id string, stages ...string) map[string]api.ResultLine {
	t.Helper()
	out := map[string]api.ResultLine{}
	err := c.Results(context.Background(), id, stages, func(l *api.ResultLine) error {
		key := l.Stage + "/" + l.ID
		if _, dup := out[key]; dup {
			return fmt.Errorf("item %s appears twice", key)
		}
		out[key] = *l
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWordcountPipeline(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	startWorker(t, b.url, 2, nil)
	startWorker(t, b.url, 3, nil)
	c := client.New(b.url, client.WithToken(testToken))
	id := submitYAML(t, c, `
name: wc
input:
  items: ["the cat", "the dog", "a cat and a dog", "the end"]
stages:
  - {name: count, op: wordcount, batch: 3}
  - {name: total, op: sum}
`)
	st, err := c.Wait(ctxT(t, 30*time.Second), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != task.JobCompleted || st.Stages[0].Counts.Done != 2 || st.Stages[1].Counts.Done != 1 {
		t.Fatalf("status: %+v", st)
	}
	res := results(t, c, id)
	if len(res) != 1 {
		t.Fatalf("final results: %v", res)
	}
	var total struct {
		Items int `json:"items"`
		Sum   struct {
			Words  int            `json:"words"`
			Counts map[string]int `json:"counts"`
		} `json:"sum"`
	}
	if err := json.Unmarshal(res["total/sum"].Data, &total); err != nil {
		t.Fatal(err)
	}
	if total.Items != 4 || total.Sum.Words != 11 || total.Sum.Counts["the"] != 3 || total.Sum.Counts["cat"] != 2 {
		t.Fatalf("total: %+v", total)
	}
	counts := results(t, c, id, "count")
	if len(counts) != 4 || counts["count/2"].Data == nil {
		t.Fatalf("count results: %v", counts)
	}
}
