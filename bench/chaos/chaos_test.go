package main

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/myriadhq/myriad/task"
)

// The short chaos run: 2 000 microtasks through a real coordinator
// process SIGKILLed 3 times and worker processes SIGKILLed 5 times; every
// item ends with exactly one correct result, in the store and the API,
// and `myriad status` agrees with the store.
func TestChaosShort(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg := Config{N: 2000, Workers: 4, Slots: 4, CoordKills: 3, WorkerKills: 5, Freezes: 2, Terms: 2, Seed: 11, Rounds: 1000, SleepMS: 20, Dir: t.TempDir(), Log: testLog{t}}
	sum, err := Run(ctx, cfg)
	if sum != nil {
		t.Log(sum)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !sum.OK() {
		t.Fatalf("chaos found problems: %q", sum.Problems)
	}
	if sum.CoordKills != 3 || sum.CoordRestarts != 3 || sum.WorkerKills != 5 || sum.Terms != 2 || sum.WorkerRestarts != 7 || sum.Freezes > 2 {
		t.Fatalf("kills/restarts: coordinator %d/%d, workers %d+%d drains/%d, freezes %d; want 3/3, 5+2/7, at most 2",
			sum.CoordKills, sum.CoordRestarts, sum.WorkerKills, sum.Terms, sum.WorkerRestarts, sum.Freezes)
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) { l.t.Log(string(p)); return len(p), nil }

// The check itself: it must see a lost, a doubled and a wrong result,
// and counts that disagree.
func TestCheckFindsDefects(t *testing.T) {
	t.Parallel()
	cfg := &Config{N: 8, Seed: 3, Rounds: 1}
	good := func(stage, i int) []string { return []string{want(cfg, stage, i)} }
	all := func() [2]map[string][]string {
		var r [2]map[string][]string
		for s := range r {
			r[s] = map[string][]string{}
			for i := range 4 {
				r[s][strconv.Itoa(i)] = good(s, i)
			}
		}
		return r
	}
	st := &storeView{microtasks: 8, counts: task.Counts{Done: 8}, results: all()}
	apiRes := all()
	clean := &Summary{}
	check(clean, cfg, st, apiRes, &statusOut{State: task.JobCompleted, Counts: task.Counts{Done: 8}})
	if !clean.OK() {
		t.Fatalf("a clean run flagged: %q", clean.Problems)
	}
	delete(st.results[1], "3")                             // lost in the store
	st.results[0]["1"] = append(good(0, 1), good(0, 1)...) // committed twice
	apiRes[1]["2"] = []string{"beef"}                      // wrong through the API
	sum := &Summary{}
	check(sum, cfg, st, apiRes, &statusOut{State: task.JobCompleted, Counts: task.Counts{Done: 7, Dead: 1}})
	if sum.Lost != 1 || sum.Doubled != 1 || sum.Wrong != 1 || !sum.StatusMismatch || sum.OK() {
		t.Fatalf("got lost=%d doubled=%d wrong=%d mismatch=%v, want 1 1 1 true", sum.Lost, sum.Doubled, sum.Wrong, sum.StatusMismatch)
	}
	if _, err := json.Marshal(sum); err != nil {
		t.Fatal(err)
	}
}
