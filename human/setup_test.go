package human_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/crowd"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/human/sim"
	"github.com/myriadhq/myriad/ops"
	"github.com/myriadhq/myriad/server"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/store/sqlite"
)

// bundle is a running coordinator with human stages.
type bundle struct {
	once sync.Once
	st   *sqlite.Store
	srv  *server.Server
	url  string
	c    *client.Client
	dir  string
}

func testLogger() *slog.Logger {
	if os.Getenv("MYRIAD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// fast are settings that let tests finish stages quickly.
func fast(hc human.Config) human.Config {
	if hc.UndoWindow == 0 {
		hc.UndoWindow = 50 * time.Millisecond
	}
	if hc.SweepEvery == 0 {
		hc.SweepEvery = 20 * time.Millisecond
	}
	if hc.Seed == 0 {
		hc.Seed = 7
	}
	return hc
}

// setup starts a coordinator without rate limits: simulated annotators
// answer far faster than people.
func setup(t testing.TB, hc human.Config, dir string) *bundle {
	t.Helper()
	return setupWith(t, hc, dir, server.SecurityConfig{RateLimit: -1, AnswerRate: -1})
}

// setupWith starts a coordinator with the security settings sec.
func setupWith(t testing.TB, hc human.Config, dir string, sec server.SecurityConfig) *bundle {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	opsInfo := map[string]coord.OpInfo{}
	for _, o := range ops.Builtins() {
		opsInfo[o.Name] = coord.OpInfo{Name: o.Name, Reduce: o.Reduce}
	}
	st, err := sqlite.Open(context.Background(), dir, sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(server.Config{Store: st, Listen: "127.0.0.1:0", Logger: testLogger(), Security: sec,
		Coord: coord.Config{Ops: opsInfo, Logger: testLogger()}, Human: fast(hc)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := &bundle{st: st, srv: s, url: s.URL(), c: client.New(s.URL(), client.WithToken(s.AdminToken())), dir: dir}
	t.Cleanup(b.stop)
	return b
}

func (b *bundle) stop() {
	b.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b.srv.Shutdown(ctx)
		b.st.Close()
	})
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// annotators adds n annotators named prefix0, prefix1, … and returns
// their tokens.
func (b *bundle) annotators(t testing.TB, prefix string, n int) []string {
	t.Helper()
	var toks []string
	for i := range n {
		out, err := b.c.CreateAnnotator(context.Background(), api.AnnotatorCreate{Name: fmt.Sprintf("%s%d", prefix, i)})
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, out.Token)
	}
	return toks
}

// textItems makes n items {"id": "it<i>", "text": "<prefix> <i>"} whose
// true label is truth(i).
func textItems(n int, prefix string) []any {
	items := make([]any, n)
	for i := range n {
		items[i] = map[string]any{"id": fmt.Sprintf("it%03d", i), "text": fmt.Sprintf("%s %03d", prefix, i)}
	}
	return items
}

// humanJob is a one-stage job labelling items with params.
func humanJob(name string, items []any, params map[string]any) *spec.Job {
	return &spec.Job{Name: name, Input: spec.Input{Items: items}, Stages: []spec.Stage{{Name: "label", Op: "human", Params: params}}}
}

func submit(t testing.TB, c *client.Client, j *spec.Job) string {
	t.Helper()
	sub, err := c.Submit(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	return sub.ID
}

// truthByText answers by the number at the end of the shown text.
func truthByText(truth func(i int) string) func(api.AnnotateTask) (string, string, bool) {
	return func(t api.AnnotateTask) (string, string, bool) {
		f := strings.Fields(t.Display.Text)
		if len(f) == 0 {
			return "", "", false
		}
		var i int
		if _, err := fmt.Sscanf(f[len(f)-1], "%d", &i); err != nil {
			return "", "", false
		}
		return t.Display.Text, truth(i), true
	}
}

// labelled is one result line of a human stage.
type labelled struct {
	ID         string
	Label      *string            `json:"label"`
	Confidence float64            `json:"confidence"`
	Source     string             `json:"source"`
	Answers    int                `json:"answers"`
	Posterior  map[string]float64 `json:"posterior"`
	ModelLabel string             `json:"model_label"`
	Text       string             `json:"text"`
}

func results(t testing.TB, c *client.Client, id string) []labelled {
	t.Helper()
	var out []labelled
	err := c.Results(context.Background(), id, nil, func(l *api.ResultLine) error {
		if l.Error != "" {
			return fmt.Errorf("item %s: %s", l.ID, l.Error)
		}
		var x labelled
		if err := json.Unmarshal(l.Data, &x); err != nil {
			return err
		}
		x.ID = l.ID
		out = append(out, x)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func members(toks []string, ann func(i int) crowd.Annotator) []sim.Member {
	out := make([]sim.Member, len(toks))
	for i, tok := range toks {
		a := ann(i)
		if a.ID == "" {
			a.ID = fmt.Sprint("sim", i)
		}
		out[i] = sim.Member{Token: tok, Annotator: a}
	}
	return out
}

func wait(t testing.TB, c *client.Client, id string) *api.JobStatus {
	t.Helper()
	st, err := c.Wait(ctxT(t, 2*time.Minute), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
