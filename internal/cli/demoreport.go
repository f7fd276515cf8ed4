package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/task"
)

// demoReport prints the demo's progress as it goes: a line when a stage
// starts and ends, a progress line with the ETA every few seconds, the
// cross-validation and search scores, training curves and the people's
// answers as they come, and the ETA first predicted (for the predicted
// versus actual time at the end).
type demoReport struct {
	w          io.Writer
	start      time.Time
	stages     map[string]task.StageState
	begun      map[string]time.Time
	lastLine   time.Time
	metricsN   int
	metricsAt  time.Time
	answers    int
	predicted  float64 // first known ETA: elapsed + remaining, seconds
	predictAt  float64 // job elapsed when it was made
	lastKnown  float64 // the latest estimate of the total
	curves     []string
	humanShown bool
	// The human stage's redundancy and the simulated crowd (to estimate
	// people's time before the first answers come).
	k           int
	annotators  int
	answerTime  time.Duration
	firstAnswer time.Time
	humanLeft   float64
	meanTask    float64 // seconds, over the job's timed microtasks
	dataDir     string  // the embedded store's folder ("" against a remote coordinator)
	// The first estimate of the total, made once a microtask was timed
	// (people not counted yet), and when (job elapsed, seconds).
	firstGuess, firstGuessAt float64
}

func newDemoReport(w io.Writer) *demoReport {
	return &demoReport{w: w, start: time.Now(), stages: map[string]task.StageState{}, begun: map[string]time.Time{}}
}

func (r *demoReport) say(format string, args ...any) {
	fmt.Fprintf(r.w, format+"\n", args...)
}

func (r *demoReport) stageLine(stage, detail string, d time.Duration) {
	r.say("  ✓ %-22s %-40s %s", stage, detail, fmtDur(d.Seconds()))
}

// update is called with every status the job's long poll returns.
func (r *demoReport) update(ctx context.Context, c *client.Client, st *api.JobStatus) {
	now := time.Now()
	for _, s := range st.Stages {
		prev := r.stages[s.Name]
		started := s.Counts.Running+s.Counts.Done+s.Counts.Dead > 0
		if _, ok := r.begun[s.Name]; !ok && started {
			r.begun[s.Name] = now
			r.say("  ▸ %-22s started (%s)", s.Name, s.Op)
		}
		if s.State == task.StageDone && prev != task.StageDone {
			d := now.Sub(r.begun[s.Name])
			if _, ok := r.begun[s.Name]; !ok {
				d = 0
			}
			detail := fmt.Sprintf("%d microtasks", s.Counts.Done)
			if s.Counts.Dead > 0 {
				detail += fmt.Sprintf(", %d dead", s.Counts.Dead)
			}
			if s.MeanMS > 0 {
				detail += fmt.Sprintf(", %s each", fmtDur(s.MeanMS/1000))
			}
			r.stageLine(s.Name, detail, d)
			r.stageResults(ctx, c, st.ID, s)
		}
		r.stages[s.Name] = s.State
	}
	if eta, _, unknown := r.eta(st); !st.State.Final() {
		total := st.Elapsed + eta
		if r.firstGuess == 0 && r.meanTask > 0 {
			r.firstGuess, r.firstGuessAt = total, st.Elapsed
		}
		if len(unknown) == 0 {
			if r.predicted == 0 {
				r.predicted, r.predictAt = total, st.Elapsed
			}
			r.lastKnown = total
		}
	}
	r.human(st)
	if now.Sub(r.metricsAt) > 3*time.Second || st.State.Final() {
		r.metricsAt = now
		r.curvePoints(ctx, c, st.ID)
	}
	if now.Sub(r.lastLine) > 5*time.Second && !st.State.Final() {
		r.lastLine = now
		r.progressLine(st)
	}
}

// progressLine shows the running stages and the job's ETA (the source's
// §4 model over the remaining microtasks).
func (r *demoReport) progressLine(st *api.JobStatus) {
	var running []string
	var total, done int64
	for _, s := range st.Stages {
		n := max(s.Expected, s.Counts.Total()-s.Counts.Pending)
		total += n
		done += s.Counts.Done + s.Counts.Dead
		if s.State == task.StageRunning && s.Counts.Open() > 0 && (s.Counts.Running > 0 || s.Counts.Done > 0) {
			running = append(running, fmt.Sprintf("%s %d/%d", s.Name, s.Counts.Done, n))
		}
	}
	pct := 0.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	left, guessed, unknown := r.eta(st)
	eta := fmtDur(left)
	var notes []string
	if len(guessed) > 0 {
		eta = "~" + eta
		notes = append(notes, fmt.Sprintf("%d stages not timed yet taken at the job's mean microtask, %s", len(guessed), fmtDur(r.meanTask)))
	}
	if st.ETA != nil && st.ETA.Capacity > 0 {
		notes = append(notes, fmt.Sprintf("%.0f slot-s of timed work on %d slots", st.ETA.WorkS, st.ETA.Capacity))
	}
	if r.humanLeft > 0 {
		notes = append(notes, "people "+fmtDur(r.humanLeft))
	}
	if len(unknown) > 0 {
		eta = "≥ " + strings.TrimPrefix(eta, "~")
		notes = append(notes, "and "+strings.Join(unknown, ", ")+" once people start")
	}
	if len(notes) > 0 {
		eta += " (" + strings.Join(notes, "; ") + ")"
	}
	r.say("    %5.1f%% of %d microtasks, %s elapsed, ETA %s; running: %s", pct, total, fmtDur(st.Elapsed), eta, strings.Join(running, ", "))
}

// eta is the time left: the coordinator's estimate for the machines
// (the source's §4 model over the stages timed so far), the stages not
// timed yet at the job's mean microtask time (guessed), and for the human
// stage the answers still wanted at the pace people answer; unknown lists
// the human stages not started yet, whose time the estimate lacks.
func (r *demoReport) eta(st *api.JobStatus) (left float64, guessed, unknown []string) {
	timed := map[string]bool{}
	var sum float64
	var n int64
	for _, s := range st.Stages {
		if s.MeanMS > 0 || s.State == task.StageDone {
			timed[s.Op] = true
		}
		if s.MeanMS > 0 {
			sum += s.MeanMS / 1000 * float64(s.Counts.Done)
			n += s.Counts.Done
		}
	}
	if n > 0 {
		r.meanTask = sum / float64(n)
	}
	if st.ETA != nil {
		left = st.ETA.RemainingS
	}
	capacity := 1.0
	if st.ETA != nil && st.ETA.Capacity > 0 {
		capacity = float64(st.ETA.Capacity)
	}
	for _, s := range st.Stages {
		if s.State == task.StageDone || timed[s.Op] || s.Op == "human" {
			continue
		}
		guessed = append(guessed, s.Name)
		tasks := max(float64(s.Expected-s.Counts.Done-s.Counts.Dead), 1)
		left += tasks * r.meanTask / min(capacity, tasks)
	}
	r.humanLeft = 0
	for _, h := range st.Human {
		if h.Items+h.Model+h.Gold == 0 && h.State == "collecting" {
			unknown = append(unknown, h.Stage) // its items have not come yet
			continue
		}
		if h.State != "collecting" {
			continue
		}
		wanted := float64((h.Items-h.Stopped)*r.k) - float64(h.Answers-r.settledAnswers(h))
		switch {
		case r.firstAnswer.IsZero() || h.Answers < 2:
			if r.answerTime > 0 && r.annotators > 0 {
				r.humanLeft = wanted * r.answerTime.Seconds() / float64(r.annotators)
			} else {
				unknown = append(unknown, h.Stage)
			}
		default:
			pace := time.Since(r.firstAnswer).Seconds() / float64(h.Answers)
			r.humanLeft = max(0, wanted) * pace
		}
	}
	if len(st.Human) == 0 {
		for _, s := range st.Stages {
			if s.Op == "human" && s.State != task.StageDone {
				unknown = append(unknown, s.Name)
			}
		}
	}
	return left + r.humanLeft, guessed, unknown
}

// settledAnswers estimates the answers given to settled items (k each).
func (r *demoReport) settledAnswers(h api.HumanStageStatus) int {
	return min(h.Answers, h.Stopped*r.k)
}

// human prints the people's progress when answers come in.
func (r *demoReport) human(st *api.JobStatus) {
	for _, h := range st.Human {
		if r.firstAnswer.IsZero() && h.Answers > 0 {
			r.firstAnswer = time.Now()
		}
		if !r.humanShown && h.Items+h.Model > 0 {
			r.humanShown = true
			r.say("  ☺ %-22s %d items the model is sure of keep its label; %d go to people", h.Stage, h.Model, h.Items)
		}
		if h.Answers != r.answers && (h.Answers-r.answers >= 10 || h.State != "collecting" || time.Since(r.lastLine) > 5*time.Second) {
			r.answers = h.Answers
			r.lastLine = time.Now()
			r.say("    people: %d answers from %d annotators, %d of %d items settled (%s)%s", h.Answers, h.Annotators, h.Stopped, h.Items, h.State, fmtStops(h.Stops))
		}
	}
}

// curvePoints prints the training curve points reported since the last
// call, one line per stage, series and step.
func (r *demoReport) curvePoints(ctx context.Context, c *client.Client, id string) {
	points, err := c.Metrics(ctx, id)
	if err != nil || len(points) <= r.metricsN {
		return
	}
	fresh := points[r.metricsN:]
	r.metricsN = len(points)
	type key struct {
		stage, series string
		step          int
	}
	var order []key
	vals := map[key][]string{}
	for _, p := range fresh {
		k := key{p.Stage, p.Series, p.Step}
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = append(vals[k], fmt.Sprintf("%s %.4g", p.Name, p.Value))
	}
	for _, k := range order {
		what := k.stage
		if k.series != "" {
			what += " " + k.series
		}
		line := fmt.Sprintf("%s step %d: %s", what, k.step, strings.Join(vals[k], ", "))
		r.curves = append(r.curves, line)
		r.say("    curve  %s", line)
	}
}

// stageResults prints what a finished stage found that people care about:
// cross-validation scores, the search's trials and winner, the model.
func (r *demoReport) stageResults(ctx context.Context, c *client.Client, id string, s api.StageStatus) {
	var lines []map[string]any
	switch s.Op {
	case "ml.cvsummary", "ml.pick", "pack", "clean", "score":
	case "ml.merge", "train":
		if !strings.Contains(s.Name, ".") {
			break
		}
		return
	default:
		return
	}
	err := c.Results(ctx, id, []string{s.Name}, func(l *api.ResultLine) error {
		var m map[string]any
		if json.Unmarshal(l.Data, &m) == nil {
			lines = append(lines, m)
		}
		return nil
	})
	if err != nil {
		return
	}
	for _, m := range lines {
		switch s.Op {
		case "ml.cvsummary":
			r.say("    cross-validation: %v", m["summary"])
			if folds, ok := m["folds"].([]any); ok {
				var fs []string
				for _, f := range folds {
					if fm, ok := f.(map[string]any); ok {
						fs = append(fs, fmt.Sprintf("fold %v %.4f", fm["fold"], fm["accuracy"]))
					}
				}
				r.say("      %s", strings.Join(fs, ", "))
			}
		case "ml.pick":
			if trials, ok := m["trials"].([]any); ok {
				for _, t := range trials {
					tm, _ := t.(map[string]any)
					r.say("    search trial %v %v: accuracy %v", tm["trial"], fmtParams(tm["params"]), fmtSummary(tm["accuracy"]))
				}
			}
			r.say("    search winner: trial %v %v (cv accuracy %v)", m["best_trial"], fmtParams(m["params"]), fmtSummary(m["cv_accuracy"]))
		case "score":
			r.say("    score: model alone %.2f%%, model + people %.2f%% against the true labels (%v items)",
				100*num(m["accuracy_model_alone"]), 100*num(m["accuracy_model_plus_people"]), m["known"])
		case "pack":
			r.say("    dataset %s: %v items of shape %v", s.Name, m["items"], m["shape"])
		case "ml.merge", "train":
			r.say("    model %v: trained on %v items, accuracy %.4f on its training data", s.Name, m["trained_on"], num(m["accuracy"]))
		}
	}
	if s.Op == "clean" {
		n := 0
		c.Dropped(ctx, id, func(l *api.ResultLine) error {
			if l.Stage == s.Name {
				n++
			}
			return nil
		})
		r.say("    clean kept %d images, dropped %d (myriad results %s --dropped says why)", len(lines), n, id)
	}
}

func fmtParams(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Sprint(v)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, m[k]))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func fmtSummary(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%.4f ± %.4f", num(m["mean"]), num(m["std"]))
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

func (r *demoReport) failed(st *api.JobStatus) {
	r.say("job %s ended %s", st.ID, st.State)
	for _, e := range st.Errors {
		r.say("  stage %s microtask %d (%d attempts): %s", e.Stage, e.Task, e.Attempts, e.Error)
	}
}

func fmtStops(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return "; stopped: " + strings.Join(parts, ", ")
}
