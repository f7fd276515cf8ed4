package human_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/crowd"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/human/sim"
	"github.com/myriadhq/myriad/task"
)

// The keys any response to an annotator may hold: those of the types
// sent to annotators (api.TasksResponse, api.AnnotateStage, api.Me) and
// of an error. None of them can carry a gold answer, another
// annotator's answer or an aggregated label.
var annotatorKeys = map[string]bool{
	"tasks": true, "reason": true, "undo_until": true, "progress": true,
	"id": true, "stage": true, "display": true, "qualification": true, "expires_at": true,
	"text": true, "image": true, "fields": true, "name": true, "value": true,
	"answers": true, "skips": true, "earned": true, "currency": true,
	"items": true, "answered": true, "result": true,
	"title": true, "instructions": true, "labels": true, "description": true, "examples": true,
	"rules": true, "reward": true, "my_answers": true, "blocked": true,
	"error": true, "details": true, "status": true,
}

func jsonKeys(v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			into[k] = true
			jsonKeys(e, into)
		}
	case []any:
		for _, e := range x {
			jsonKeys(e, into)
		}
	}
}

// Every raw response an annotator receives is scanned: it holds only the
// annotator-facing fields, never another annotator's name or token, never
// an item id, a gold question's id or answer, a model's prediction, a
// confidence or a final label; gold questions look exactly like other
// items; and another annotator's task cannot even be seen to exist.
func TestAnnotatorSeesNothingElse(t *testing.T) {
	t.Parallel()
	b := setup(t, human.Config{}, "")
	ctx := context.Background()
	var toks []string
	names := []string{"watched", "other-secret-name-1", "other-secret-name-2"}
	for _, n := range names {
		out, err := b.c.CreateAnnotator(ctx, api.AnnotatorCreate{Name: n})
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, out.Token)
	}
	const n = 24
	items := make([]any, n)
	for i := range n {
		items[i] = map[string]any{"id": fmt.Sprintf("ITEMID-SECRET-%d", i), "text": fmt.Sprintf("item %03d", i),
			"label": "MODEL-GUESS-SECRET", "probability": 0.5, "hidden": "HIDDEN-FIELD-SECRET"}
	}
	gold := []any{}
	for i := range 6 {
		gold = append(gold, map[string]any{"id": fmt.Sprintf("GOLDID-SECRET-%d", i),
			"data": map[string]any{"text": fmt.Sprintf("item %03d", 100+i), "note": "GOLD-DATA-SECRET"}, "answer": yesNo(100 + i)})
	}
	id := submit(t, b.c, humanJob("secure", items, map[string]any{
		"labels": binary, "k": 2, "route": map[string]any{"below": 0.9},
		"gold": map[string]any{"items": gold, "rate": 0.3, "min_answers": 100},
	}))
	b.waitStage(t, id)

	var mu sync.Mutex
	var seen [][]byte // raw responses to the watched annotator
	record := func(member int, path string, body []byte) {
		if member == 0 {
			mu.Lock()
			seen = append(seen, append([]byte(path+" "), body...))
			mu.Unlock()
		}
	}
	// Each annotator gets a different view of the truth, so that the
	// others' answers differ from the watched one's.
	s, _ := crowd.NewSimulator(5, binary)
	ms := members(toks, func(i int) crowd.Annotator { return crowd.Annotator{Accuracy: []float64{1, 0.5, 0.5}[i]} })
	c := &sim.Crowd{URL: b.url, Token: b.srv.AdminToken(), Job: id, Members: ms, Answer: sim.Modelled(s, truthByText(yesNo)), Record: record}

	// Alongside the crowd, the watched annotator pokes at other
	// annotators' tasks: it must get 404, as for a task that does not exist.
	watched := sim.NewClient(b.url, toks[0], nil)
	watched.Record = func(path string, body []byte) { record(0, path, body) }
	other := sim.NewClient(b.url, toks[1], nil)
	resp, err := other.Next(ctx, api.NextRequest{Want: 2})
	if err != nil || len(resp.Tasks) == 0 {
		t.Fatalf("other annotator got no work: %v", err)
	}
	for _, tk := range resp.Tasks {
		_, err := watched.Answer(ctx, tk.ID, api.AnswerRequest{Label: "yes"})
		if sim.Status(err) != http.StatusNotFound {
			t.Errorf("answering another annotator's task %d: got %v, want 404", tk.ID, err)
		}
		if _, err := watched.Undo(ctx, tk.ID); sim.Status(err) != http.StatusNotFound {
			t.Errorf("undoing another annotator's task: got %v, want 404", err)
		}
	}
	if _, err := watched.Answer(ctx, 99999, api.AnswerRequest{Label: "yes"}); sim.Status(err) != http.StatusNotFound {
		t.Errorf("answering a task that does not exist: got %v, want 404", err)
	}
	if _, err := watched.Stages(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(ctxT(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	if st := wait(t, b.c, id); st.State != task.JobCompleted {
		t.Fatalf("job %s", st.State)
	}
	// After the end too: the finished stage shows nothing.
	watched.Stages(ctx)
	watched.Next(ctx, api.NextRequest{})
	watched.Me(ctx)

	forbidden := []string{"SECRET", "confidence", "posterior", "source", "model_label", "probability", "gold",
		names[1], names[2], toks[1], toks[2]}
	goldShapes, itemShapes := map[string]bool{}, map[string]bool{}
	tasksSeen := 0
	for _, raw := range seen {
		for _, f := range forbidden {
			if bytes.Contains(raw, []byte(f)) {
				t.Errorf("a response to the annotator contains %q: %s", f, raw)
			}
		}
		body := raw[bytes.IndexByte(raw, ' ')+1:]
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("response is not JSON: %s", raw)
		}
		keys := map[string]bool{}
		jsonKeys(v, keys)
		for k := range keys {
			if !annotatorKeys[k] {
				t.Errorf("a response to the annotator has the field %q: %s", k, raw)
			}
		}
		var tr api.TasksResponse
		if json.Unmarshal(body, &tr) == nil {
			for _, tk := range tr.Tasks {
				tasksSeen++
				b, _ := json.Marshal(tk)
				var m any
				json.Unmarshal(b, &m)
				k := map[string]bool{}
				jsonKeys(m, k)
				shape := strings.Join(sortedKeys(k), ",")
				var num int
				fmt.Sscanf(tk.Display.Text, "item %d", &num)
				if num >= 100 {
					goldShapes[shape] = true
				} else {
					itemShapes[shape] = true
				}
			}
		}
	}
	if tasksSeen == 0 || len(goldShapes) == 0 {
		t.Fatalf("the watched annotator saw %d tasks, gold shapes %v", tasksSeen, goldShapes)
	}
	for s := range goldShapes {
		if !itemShapes[s] {
			t.Errorf("a gold question looks different from every item: %s (items: %v)", s, itemShapes)
		}
	}
	// Invite tokens are stored only as hashes.
	files, _ := filepath.Glob(filepath.Join(b.dir, "*"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, tok := range toks {
			if bytes.Contains(data, []byte(tok)) {
				t.Errorf("%s holds an invite token in clear", filepath.Base(f))
			}
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Requests without a valid token are refused; a cookie-carrying request
// from another site is refused even with a valid session.
func TestAnnotatorAuth(t *testing.T) {
	t.Parallel()
	b := setup(t, human.Config{}, "")
	tok := b.annotators(t, "auth", 1)[0]
	ctx := context.Background()
	if _, err := sim.NewClient(b.url, "myra_nottherealtoken", nil).Next(ctx, api.NextRequest{}); sim.Status(err) != http.StatusUnauthorized {
		t.Fatalf("bad token: got %v, want 401", err)
	}
	req, _ := http.NewRequest(http.MethodPost, b.url+"/v1/annotate/next", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(&http.Cookie{Name: human.CookieName, Value: tok})
	req.Header.Set("Origin", "https://evil.example")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("cross-site request with a valid cookie: %d, want 401", res.StatusCode)
	}
	// Sign-in sets an HttpOnly, SameSite=Strict cookie that then works.
	res, err = http.Post(b.url+"/v1/annotate/signin", "application/json", strings.NewReader(`{"token":"`+tok+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var session *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == human.CookieName {
			session = c
		}
	}
	if res.StatusCode != http.StatusOK || session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("sign-in: %d, cookie %+v", res.StatusCode, session)
	}
	req, _ = http.NewRequest(http.MethodGet, b.url+"/v1/annotate/me", nil)
	req.AddCookie(session)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("me with the session cookie: %d", res.StatusCode)
	}
	// The app is served with a strict Content Security Policy.
	res, err = http.Get(b.url + "/annotate/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP %q", csp)
	}
}
