package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"

	_ "modernc.org/sqlite" // the driver the store itself uses

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/ops"
	"github.com/myriadhq/myriad/task"
)

// storeView is what the SQLite file holds for the job.
type storeView struct {
	counts     task.Counts
	microtasks int
	retried    int                    // microtasks leased more than once
	results    [2]map[string][]string // per stage, item id → each committed result holding it (see value)
}

// readStore opens the store's file read-only (the coordinator has
// stopped) and reads every microtask of the job.
func readStore(ctx context.Context, path, jobID string) (*storeView, error) {
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "query_only(1)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open the store read-only: %w", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT id, stage, state, attempts, result FROM microtasks WHERE job_id = ?`, jobID)
	if err != nil {
		return nil, fmt.Errorf("read microtasks: %w", err)
	}
	defer rows.Close()
	v := &storeView{results: [2]map[string][]string{{}, {}}}
	for rows.Next() {
		var id int64
		var stage, state, attempts int
		var result []byte
		if err := rows.Scan(&id, &stage, &state, &attempts, &result); err != nil {
			return nil, fmt.Errorf("read microtasks: %w", err)
		}
		v.microtasks++
		if attempts > 1 {
			v.retried++
		}
		v.counts.Add(task.State(state), 1)
		if task.State(state) != task.Done {
			continue
		}
		if stage < 0 || stage >= len(v.results) {
			return nil, fmt.Errorf("microtask %d: stage %d: the job has 2 stages", id, stage)
		}
		var items []task.Item
		if err := json.Unmarshal(result, &items); err != nil {
			return nil, fmt.Errorf("microtask %d: result: %w", id, err)
		}
		for _, it := range items {
			v.results[stage][it.ID] = append(v.results[stage][it.ID], value(stage, it.Data))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read microtasks: %w", err)
	}
	return v, nil
}

// value is what a result says, to compare with want: the item's text
// after the first stage, its SHA-256 after the second.
func value(stage int, data json.RawMessage) string {
	if stage == 0 {
		var s string
		if json.Unmarshal(data, &s) != nil {
			return "unparsable:" + string(data)
		}
		return s
	}
	var out ops.HashOutput
	if json.Unmarshal(data, &out) != nil || out.SHA256 == "" {
		return "unparsable:" + string(data)
	}
	return out.SHA256
}

// want is the expected value of item i after stage.
func want(cfg *Config, stage, i int) string {
	if stage == 0 {
		return itemData(cfg.Seed, i)
	}
	h, _ := ops.HashItem(json.RawMessage(strconv.Quote(itemData(cfg.Seed, i))), cfg.Rounds)
	return h
}

// apiResults reads the results of the named stages through the API: per
// stage, item id → the value of each line for it.
func apiResults(ctx context.Context, c *client.Client, id string, stages []string) ([2]map[string][]string, error) {
	out := [2]map[string][]string{{}, {}}
	err := c.Results(ctx, id, stages, func(l *api.ResultLine) error {
		s := slices.Index(stages, l.Stage)
		if s < 0 {
			return fmt.Errorf("a result line of stage %q, which was not asked for", l.Stage)
		}
		if l.Error != "" {
			out[s][l.ID] = append(out[s][l.ID], "error:"+l.Error)
			return nil
		}
		out[s][l.ID] = append(out[s][l.ID], value(s, l.Data))
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("read results: %w", err)
	}
	return out, nil
}

// statusOut is the part of `myriad status --json` the check compares.
type statusOut struct {
	State  task.JobState `json:"state"`
	Counts task.Counts   `json:"counts"`
}

func parseStatus(b []byte) (*statusOut, error) {
	var s statusOut
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("myriad status --json: %w", err)
	}
	return &s, nil
}

// check counts, for every item and stage, its results in the store and
// in the API against the expected value, and compares the status counts
// with the store's.
func check(sum *Summary, cfg *Config, st *storeView, apiRes [2]map[string][]string, status *statusOut) {
	sum.Retried = st.retried
	if st.microtasks != cfg.N {
		sum.problem("the store holds %d microtasks for the job, want %d", st.microtasks, cfg.N)
	}
	if status.State != task.JobCompleted {
		sum.problem("the job ended %s, want %s", status.State, task.JobCompleted)
	}
	items := cfg.N / 2
	for stage := range st.results {
		for i := range items {
			id := strconv.Itoa(i)
			s, a := st.results[stage][id], apiRes[stage][id]
			switch {
			case len(s) == 0 || len(a) == 0:
				sum.Lost++
				sum.problem("stage %s, item %s: %d results in the store, %d through the API, want 1", stageNames[stage], id, len(s), len(a))
				continue
			case len(s) > 1 || len(a) > 1:
				sum.Doubled++
				sum.problem("stage %s, item %s: %d results in the store, %d through the API, want 1", stageNames[stage], id, len(s), len(a))
			}
			if w := want(cfg, stage, i); s[0] != w || a[0] != w {
				sum.Wrong++
				sum.problem("stage %s, item %s: result %s in the store, %s through the API, want %s", stageNames[stage], id, s[0], a[0], w)
			}
		}
		extra := 0
		for _, m := range []map[string][]string{st.results[stage], apiRes[stage]} {
			for id := range m {
				if n, err := strconv.Atoi(id); err != nil || n < 0 || n >= items {
					extra++
				}
			}
		}
		if extra > 0 {
			sum.Doubled += extra
			sum.problem("stage %s: %d results for items the job does not have", stageNames[stage], extra)
		}
	}
	if status.Counts != st.counts {
		sum.StatusMismatch = true
		sum.problem("myriad status counts %+v, the store %+v", status.Counts, st.counts)
	}
}
