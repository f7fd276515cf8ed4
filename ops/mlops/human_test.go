package mlops_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestPredictRoutesUncertainToPeople: predict's output feeds a human
// stage whose route takes only the items below the threshold; the model
// keeps its label for the rest. Uncertain items carry an image to show.
func TestPredictRoutesUncertainToPeople(t *testing.T) {
	t.Parallel()
	e := setup(t, 2, nil)
	trainRef, testRef := e.pack(t, mnistDigits(t, 0, 200)), e.pack(t, mnistDigits(t, 6000, 40))
	id, err := e.submit(t, fmt.Sprintf(`
input: {items: [{id: digits, dataset: %q}]}
stages:
  - {name: train, op: train, params: {model: %s}}
  - {name: predict, op: predict, params: {data: {dataset: %q}, threshold: 0.9}}
  - name: people
    op: human
    params:
      labels: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
      route: {below: 0.9}
`, trainRef, tinyNet, testRef))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.c.Cancel(context.Background(), id) })
	deadline := time.Now().Add(3 * time.Minute)
	for {
		st, err := e.c.Job(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Human) == 1 && st.Human[0].Items+st.Human[0].Model == 40 {
			break
		}
		if st.State.Final() || time.Now().After(deadline) {
			t.Fatalf("the human stage did not take the predictions: %s %+v %+v", st.State, st.Human, st.Errors)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition, with a deadline
	}
	uncertain := 0
	for pid, p := range e.results(t, id, "predict") {
		if field[bool](t, p, "uncertain") {
			uncertain++
			if img := field[string](t, p, "image"); !strings.HasPrefix(img, "data:image/png;base64,") {
				t.Fatalf("%s: uncertain item without an image to show: %.40q", pid, img)
			}
		}
	}
	st, _ := e.c.Job(context.Background(), id)
	if h := st.Human[0]; h.Items != uncertain || h.Model != 40-uncertain || uncertain == 0 || uncertain == 40 {
		t.Fatalf("human stage: %d items for people, %d labelled by the model; predict flagged %d of 40 uncertain", h.Items, h.Model, uncertain)
	}
}
