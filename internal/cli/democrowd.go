package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/term"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/crowd"
	"github.com/myriadhq/myriad/human/sim"
	"github.com/myriadhq/myriad/internal/picture"
	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/ml/dataset"
	"github.com/myriadhq/myriad/spec"
)

// crowdFile keeps the demo's annotators (names and invite tokens) beside
// the job's data, so a demo started again after a stop or a crash signs
// the same people back in and they give the same answers.
const crowdFile = "demo-crowd.json"

type crowdState struct {
	Job string        `json:"job"`
	You savedMember   `json:"you"`
	Sim []savedMember `json:"sim"`
}

type savedMember struct {
	Name  string `json:"name"`
	Token string `json:"token"`
}

// demoCrowdRun is the human side of the demo: the link for a real person
// and, unless --humans-only, simulated annotators on the real API.
type demoCrowdRun struct {
	link    string
	url     string
	job     string
	members []sim.Member
	answer  sim.Answerer
	speed   float64
	http    *http.Client // nil: a default one
	token   string       // the API token the crowd watches the job with
}

func demoCrowd(ctx context.Context, c *client.Client, url string, hc *http.Client, token, dir, job string, df *demoFlags, j *spec.Job) (*demoCrowdRun, error) {
	path := filepath.Join(dir, crowdFile)
	var st crowdState
	if raw, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(raw, &st); err != nil {
			return nil, fmt.Errorf("demo: %s: %w", path, err)
		}
	}
	if st.Job != job {
		st = crowdState{Job: job}
	}
	add := func(name string) (savedMember, error) {
		a, err := c.CreateAnnotator(ctx, api.AnnotatorCreate{Name: name})
		var ce *client.Error
		for try := 2; errors.As(err, &ce) && ce.Status == http.StatusConflict && try < 10; try++ {
			// Added by a demo stopped before it saved the crowd file: its
			// token is lost, so this member gets a new name.
			a, err = c.CreateAnnotator(ctx, api.AnnotatorCreate{Name: fmt.Sprintf("%s-%d", name, try)})
		}
		if err != nil {
			return savedMember{}, fmt.Errorf("demo: add annotator %s: %w", name, err)
		}
		return savedMember{Name: a.Name, Token: a.Token}, nil
	}
	suffix := job[:min(len(job), 6)]
	changed := false
	if st.You.Token == "" {
		m, err := add("you-" + suffix)
		if err != nil {
			return nil, err
		}
		st.You, changed = m, true
	}
	want := df.annotators
	if df.humansOnly {
		want = 0
	}
	for i := len(st.Sim); i < want; i++ {
		m, err := add(fmt.Sprintf("sim-%s-%d", suffix, i+1))
		if err != nil {
			return nil, err
		}
		st.Sim, changed = append(st.Sim, m), true
	}
	if changed {
		raw, _ := json.MarshalIndent(st, "", "  ")
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	run := &demoCrowdRun{link: trimURL(url) + "/annotate/#invite=" + st.You.Token, url: url, job: job, http: hc, token: token}
	if want == 0 {
		return run, nil
	}
	answer, err := demoAnswerer(j)
	if err != nil {
		return nil, err
	}
	run.answer = answer
	if df.answerTime > 0 {
		run.speed = 1
	}
	for i, m := range st.Sim[:want] {
		// The ID seeds a member's answers: sim-1 gives the same answers in
		// every run, whatever the job's id (and so its name) is.
		run.members = append(run.members, sim.Member{Token: m.Token, Annotator: crowd.Annotator{
			ID: fmt.Sprintf("sim-%d", i+1), Accuracy: df.accuracy, MedianTime: df.answerTime, TimeSpread: 0.3}})
	}
	return run, nil
}

// start runs the simulated crowd until ctx ends or the job does; a
// coordinator that goes away (restarted, failed over) is waited for.
func (cr *demoCrowdRun) start(ctx context.Context, r *demoReport) <-chan struct{} {
	done := make(chan struct{})
	if len(cr.members) == 0 {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			c := &sim.Crowd{URL: cr.url, Token: cr.token, Members: cr.members, Answer: cr.answer, Job: cr.job, Speed: cr.speed, HTTP: cr.http}
			_, err := c.Run(ctx)
			if err == nil || ctx.Err() != nil {
				return
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	return done
}

// demoAnswerer is how a simulated annotator "sees" a digit: it recognises
// the picture the app shows (predict's picture of a test image) and knows
// its true label, then answers right with its accuracy, per
// crowd.Simulator. It sees nothing a person would not.
func demoAnswerer(j *spec.Job) (sim.Answerer, error) {
	var pred, hum *spec.Stage
	for i := range j.Stages {
		switch j.Stages[i].Op {
		case "predict":
			pred = &j.Stages[i]
		case "human":
			hum = &j.Stages[i]
		}
	}
	if pred == nil || hum == nil {
		return nil, errors.New("demo: the simulated crowd needs a predict stage and a human stage in the job; use --humans-only")
	}
	var p struct {
		Data struct {
			Dataset string `json:"dataset"`
			Split   string `json:"split"`
		} `json:"data"`
	}
	raw, _ := json.Marshal(pred.Params)
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("demo: stage %s: %w", pred.Name, err)
	}
	split := dataset.Split(cmp.Or(p.Data.Split, "train"))
	var d *ml.Dataset
	var err error
	switch p.Data.Dataset {
	case "mnist":
		d, err = dataset.LoadMNIST(split)
	case "fashion-mnist", "fashion":
		d, err = dataset.LoadFashionMNIST(split)
	default:
		return nil, fmt.Errorf("demo: the simulated crowd knows the truth of mnist and fashion-mnist only, not %q; use --humans-only", p.Data.Dataset)
	}
	if err != nil {
		return nil, fmt.Errorf("demo: simulated crowd: %w", err)
	}
	s, err := crowd.NewSimulator(1, humanLabels(hum))
	if err != nil {
		return nil, fmt.Errorf("demo: simulated crowd: %w", err)
	}
	ix, err := picture.NewIndex(d)
	if err != nil {
		return nil, fmt.Errorf("demo: simulated crowd: %w", err)
	}
	return sim.Modelled(s, func(t api.AnnotateTask) (string, string, bool) {
		i, ok := ix.Find(t.Display.Image)
		if !ok {
			return "", "", false
		}
		return strconv.Itoa(i), d.Classes[d.Y[i]], true
	}), nil
}

// humanLabels are the label names of a human stage's params.
func humanLabels(s *spec.Stage) []string {
	var out []string
	list, _ := s.Params["labels"].([]any)
	for _, l := range list {
		switch x := l.(type) {
		case string:
			out = append(out, x)
		case map[string]any:
			if n, ok := x["name"].(string); ok {
				out = append(out, n)
			}
		}
	}
	return out
}

// openBrowser opens url in the desktop's browser, if there is one.
func openBrowser(url string) {
	name := "xdg-open"
	if runtime.GOOS == "darwin" {
		name = "open"
	}
	if p, err := exec.LookPath(name); err == nil {
		cmd := exec.Command(p, url)
		if cmd.Start() == nil {
			go cmd.Wait()
		}
	}
}

// desktop reports whether w is a terminal on a machine with a desktop
// session, where opening a browser is what a person expects.
func desktop(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false
	}
	return runtime.GOOS == "darwin" || runtime.GOOS == "windows" || os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
}
