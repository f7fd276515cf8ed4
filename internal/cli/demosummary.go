package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/ops/score"
	"github.com/myriadhq/myriad/spec"
)

// demoSummary is what the demo found, computed from the job's results.
type demoSummary struct {
	Job string `json:"job"`
	// Summary scores the labels against the true test labels (all of a
	// test split are known): the model alone, and model + people.
	score.Summary
	Answers int               `json:"answers"`
	Model   string            `json:"model,omitempty"`
	Files   map[string]string `json:"files"`
}

// summarize reads the final labels, the model, the answers and the curves
// of a finished demo job, writes them to out and computes the accuracies
// against the true test labels.
func summarize(ctx context.Context, c *client.Client, blobs blob.Store, id, out string, j *spec.Job) (*demoSummary, error) {
	humanStage, modelStage := "", ""
	for _, s := range j.Stages {
		switch s.Op {
		case "human":
			humanStage = s.Name
		case "train":
			modelStage = s.Name
		}
	}
	sum := &demoSummary{Job: id, Files: map[string]string{}}
	var items []map[string]any
	labels := filepath.Join(out, "labels.jsonl")
	if err := writeFile(labels, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		var stages []string
		if humanStage != "" {
			stages = []string{humanStage}
		}
		return c.Results(ctx, id, stages, func(l *api.ResultLine) error {
			var m map[string]any
			if err := json.Unmarshal(l.Data, &m); err != nil {
				return fmt.Errorf("result %s: %w", l.ID, err)
			}
			delete(m, "image") // the picture people saw; the test set has it
			items = append(items, m)
			return enc.Encode(map[string]any{"id": l.ID, "data": m})
		})
	}); err != nil {
		return nil, err
	}
	sum.Files["labelled dataset"] = labels
	sum.Summary = score.Score(items)

	if modelStage != "" {
		c.Results(ctx, id, []string{modelStage}, func(l *api.ResultLine) error {
			var m struct {
				Model string `json:"model"`
			}
			if json.Unmarshal(l.Data, &m) == nil && m.Model != "" {
				sum.Model = m.Model
			}
			return nil
		})
	}
	if sum.Model != "" {
		path := filepath.Join(out, "model.myrm")
		err := writeFile(path, func(w io.Writer) error {
			rc, err := blobs.Open(ctx, blob.Ref(sum.Model))
			if err != nil {
				return err
			}
			defer rc.Close()
			_, err = io.Copy(w, rc)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("demo: fetch the model: %w", err)
		}
		sum.Files["model"] = path
	}
	answers := filepath.Join(out, "answers.csv")
	if err := writeFile(answers, func(w io.Writer) error { return c.JobAnswers(ctx, id, w) }); err != nil {
		return nil, err
	}
	sum.Answers = countLines(answers) - 1
	sum.Files["people's answers"] = answers
	curves := filepath.Join(out, "metrics.json")
	if points, err := c.Metrics(ctx, id); err == nil {
		if err := writeFile(curves, func(w io.Writer) error { return json.NewEncoder(w).Encode(points) }); err != nil {
			return nil, err
		}
		sum.Files["training curves"] = curves
	}
	path := filepath.Join(out, "summary.json")
	if err := writeFile(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}); err != nil {
		return nil, err
	}
	sum.Files["summary"] = path
	return sum, nil
}

// summary prints the end of the demo.
func (r *demoReport) summary(s *demoSummary, st *api.JobStatus, took time.Duration) {
	r.say("")
	r.say("done: job %s %s in %s (this command ran %s)", st.ID, st.State, fmtDur(st.Elapsed), fmtDur(took.Seconds()))
	if r.firstGuess > 0 {
		r.say("  time      predicted %s at %s in (machines only, stages not timed yet guessed), actual %s",
			fmtDur(r.firstGuess), fmtDur(r.firstGuessAt), fmtDur(st.Elapsed))
	}
	if r.predicted > 0 {
		r.say("            predicted %s at %s in (with people, once they started), last estimate %s",
			fmtDur(r.predicted), fmtDur(r.predictAt), fmtDur(r.lastKnown))
	}
	srcs := make([]string, 0, len(s.BySource))
	for k := range s.BySource {
		srcs = append(srcs, k)
	}
	sort.Strings(srcs)
	line := ""
	for _, k := range srcs {
		line += fmt.Sprintf(" %s %d", k, s.BySource[k])
	}
	r.say("  labels    %d test items:%s", s.Items, line)
	r.say("  people    %d answers on %d items (the model was right on %.1f%% of them, people on %.1f%%)",
		s.Answers, s.HumanItems, 100*s.ModelOnHumanItems, 100*s.PeopleOnHumanItems)
	if s.Known > 0 {
		r.say("  accuracy  against the true test labels: model alone %.2f%%, model + people %.2f%% (%d items)",
			100*s.ModelAccuracy, 100*s.FinalAccuracy, s.Known)
	}
	r.say("  outputs")
	keys := make([]string, 0, len(s.Files))
	for k := range s.Files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r.say("    %-18s %s", k, s.Files[k])
	}
	if r.dataDir != "" {
		r.say("    %-18s myriad up --data %s (dashboard and API again), then myriad results %s --stage NAME", "in the store", r.dataDir, st.ID)
	} else {
		r.say("    %-18s myriad results %s --server URL --stage NAME", "in the store", st.ID)
	}
}

// writeFile writes path through fill, atomically: a failed write leaves
// no partial file.
func writeFile(path string, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	if err := fill(w); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

func countLines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		n++
	}
	return n
}
