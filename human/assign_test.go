package human_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/human/sim"
	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

// jobStage returns the store's items and assignments of a job's human
// stage (stage index 0 unless given).
func (b *bundle) assignments(t testing.TB, job string, stage int) ([]*store.HumanItem, []*store.HumanAssignment) {
	t.Helper()
	items, err := b.st.HumanItemList(context.Background(), job, stage)
	if err != nil {
		t.Fatal(err)
	}
	asgs, err := b.st.HumanAssignmentList(context.Background(), job, stage)
	if err != nil {
		t.Fatal(err)
	}
	return items, asgs
}

// waitStage waits until the job's human stage has its items in the store.
func (b *bundle) waitStage(t testing.TB, job string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if items, _ := b.st.HumanItemList(context.Background(), job, 0); len(items) > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond) // polling the store: the stage starts asynchronously
	}
	t.Fatal("the human stage did not start")
}

// Fifty annotators racing for few items: every item gets exactly k
// answers from k distinct annotators, and no item is ever leased beyond
// what it still needs: the store holds exactly k assignments per item,
// each answered (no lease was handed out that was not needed), and at no
// moment does any annotator hold more than it asked for.
func TestFiftyAnnotatorsNeverOverAssign(t *testing.T) {
	t.Parallel()
	b := setup(t, human.Config{}, "")
	const racers, n, k = 50, 40, 3
	toks := b.annotators(t, "racer", racers)
	id := submit(t, b.c, humanJob("race", textItems(n, "item"), map[string]any{"labels": binary, "k": k}))
	b.waitStage(t, id)

	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, racers)
	var mu sync.Mutex
	held := map[int64]string{} // task → annotator, across everyone's responses
	for i, tok := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := sim.NewClient(b.url, tok, nil)
			<-start
			ctx := context.Background()
			resp, err := cl.Next(ctx, api.NextRequest{Want: 2})
			for err == nil && len(resp.Tasks) > 0 {
				if len(resp.Tasks) > 2 {
					errs <- fmt.Errorf("racer %d holds %d tasks, asked for 2", i, len(resp.Tasks))
					return
				}
				mu.Lock()
				for _, tk := range resp.Tasks {
					if prev, ok := held[tk.ID]; ok && prev != tok {
						errs <- fmt.Errorf("task %d handed to two annotators", tk.ID)
					}
					held[tk.ID] = tok
				}
				mu.Unlock()
				label := binary[int(resp.Tasks[0].ID)%2]
				resp, err = cl.Answer(ctx, resp.Tasks[0].ID, api.AnswerRequest{Label: label, Next: 2})
			}
			if err != nil {
				errs <- fmt.Errorf("racer %d: %w", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := wait(t, b.c, id); st.State != task.JobCompleted {
		t.Fatalf("job %s", st.State)
	}
	items, asgs := b.assignments(t, id, 0)
	per := map[int64][]*store.HumanAssignment{}
	for _, a := range asgs {
		per[a.Item] = append(per[a.Item], a)
	}
	for _, it := range items {
		list := per[it.ID]
		if len(list) != k {
			t.Errorf("item %s: %d assignments, want exactly %d", it.ItemID, len(list), k)
		}
		who := map[string]bool{}
		for _, a := range list {
			if a.State != store.AssignAnswered {
				t.Errorf("item %s: assignment %d ended %d, not answered", it.ItemID, a.ID, a.State)
			}
			if who[a.Annotator] {
				t.Errorf("item %s answered twice by %s", it.ItemID, a.Annotator)
			}
			who[a.Annotator] = true
		}
		if it.Answers != k || it.Leased != 0 {
			t.Errorf("item %s: counters answers %d leased %d", it.ItemID, it.Answers, it.Leased)
		}
	}
}
