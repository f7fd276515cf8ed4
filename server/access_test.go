package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/server"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/store/sqlite"
)

// access is who may call each route: the matrix the routes table's allow
// column must give. A route added to the table without a line here fails
// TestAccessMatrix. "anyone" needs no credentials.
var access = map[string]string{
	"POST /v1/jobs":                       "admin submitter",
	"GET /v1/jobs":                        "admin submitter viewer",
	"GET /v1/jobs/{id}":                   "admin submitter viewer",
	"GET /v1/jobs/{id}/results":           "admin submitter viewer",
	"GET /v1/jobs/{id}/metrics":           "admin submitter viewer",
	"POST /v1/jobs/{id}/cancel":           "admin submitter",
	"POST /v1/workers/sync":               "admin worker",
	"POST /v1/workers/{id}/wake":          "admin worker",
	"GET /debug/pprof/":                   "admin",
	"GET /debug/pprof/profile":            "admin",
	"GET /debug/pprof/trace":              "admin",
	"GET /v1/workers":                     "admin viewer",
	"GET /v1/ops":                         "admin submitter worker viewer",
	"GET /v1/blobs/{ref}":                 "admin submitter worker viewer",
	"PUT /v1/blobs/{ref}":                 "admin submitter worker",
	"POST /v1/blobs":                      "admin submitter worker",
	"GET /v1/openapi.yaml":                "anyone",
	"GET /healthz":                        "anyone",
	"GET /readyz":                         "anyone",
	"GET /metrics":                        "admin viewer",
	"GET /annotate/":                      "anyone",
	"GET /annotate/{file}":                "anyone",
	"POST /v1/annotate/signin":            "anyone",
	"POST /v1/annotate/signout":           "annotator",
	"GET /v1/annotate/me":                 "annotator",
	"GET /v1/annotate/stages":             "annotator",
	"POST /v1/annotate/next":              "annotator",
	"POST /v1/annotate/tasks/{id}/answer": "annotator",
	"POST /v1/annotate/tasks/{id}/skip":   "annotator",
	"POST /v1/annotate/tasks/{id}/undo":   "annotator",
	"POST /v1/annotators":                 "admin",
	"GET /v1/annotators":                  "admin viewer",
	"POST /v1/annotators/{name}/pause":    "admin",
	"POST /v1/annotators/{name}/resume":   "admin",
	"GET /v1/jobs/{id}/answers":           "admin submitter viewer",
	"POST /v1/tokens":                     "admin",
	"GET /v1/tokens":                      "admin",
	"POST /v1/tokens/{id}/revoke":         "admin",
	"GET /":                               "anyone",
	"GET /ui/":                            "anyone",
	"GET /ui/{file}":                      "anyone",
	"GET /login":                          "anyone",
	"POST /login":                         "anyone",
	"POST /logout":                        "anyone",
	"GET /v1/events":                      "admin viewer",
	"POST /v1/jobs/{id}/retry":            "admin submitter",
}

var allRoles = []string{api.RoleAdmin, api.RoleSubmitter, api.RoleWorker, api.RoleAnnotator, api.RoleViewer, "nobody"}

// call makes one request with a bearer token ("" for none).
func call(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(data)
}

// postForm posts a form without following redirects.
func postForm(t *testing.T, u string, form url.Values) (int, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(data)
}

// mkToken creates an API token through the API.
func mkToken(t *testing.T, url, role, name string) api.Token {
	t.Helper()
	code, body := call(t, "POST", url+"/v1/tokens", testToken, `{"role":"`+role+`","name":"`+name+`"}`)
	if code != http.StatusCreated {
		t.Fatalf("create %s token: %d %s", role, code, body)
	}
	var tok api.Token
	if err := json.Unmarshal([]byte(body), &tok); err != nil || tok.Secret == "" {
		t.Fatalf("create token: %s (%v)", body, err)
	}
	return tok
}

// roleTokens makes one credential per role; the annotator's is an
// invite token from POST /v1/annotators.
func roleTokens(t *testing.T, url string) map[string]string {
	t.Helper()
	toks := map[string]string{api.RoleAdmin: testToken, "nobody": ""}
	for _, r := range []string{api.RoleSubmitter, api.RoleWorker, api.RoleViewer} {
		toks[r] = mkToken(t, url, r, "test "+r).Secret
	}
	code, body := call(t, "POST", url+"/v1/annotators", testToken, `{"name":"ann"}`)
	if code != http.StatusCreated {
		t.Fatalf("create annotator: %d %s", code, body)
	}
	var ac api.AnnotatorCreated
	json.Unmarshal([]byte(body), &ac)
	toks[api.RoleAnnotator] = ac.Token
	return toks
}

// TestAccessMatrix walks every route with every role and checks who is
// let through (any answer but 401 and 403) against the access table.
func TestAccessMatrix(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	toks := roleTokens(t, b.url)
	sub, err := client.New(b.url, client.WithToken(toks[api.RoleSubmitter])).Submit(context.Background(), &spec.Job{
		Name: "mine", Input: spec.Input{Items: []any{"a"}}, Stages: []spec.Stage{{Name: "s", Op: "noop"}}})
	if err != nil {
		t.Fatal(err)
	}
	fill := strings.NewReplacer("/v1/annotate/tasks/{id}", "/v1/annotate/tasks/1", "/v1/tokens/{id}", "/v1/tokens/tnosuch",
		"{id}", sub.ID, "{ref}", "sha256-"+strings.Repeat("0", 64), "{name}", "nosuch", "{file}", "app.js", "/v1/events", "/v1/events?topics=nope",
		"/debug/pprof/profile", "/debug/pprof/profile?seconds=1", "/debug/pprof/trace", "/debug/pprof/trace?seconds=0.1")
	seen := map[string]bool{}
	for _, rt := range server.Routes() {
		key := rt.Method + " " + rt.Pattern
		seen[key] = true
		want, ok := access[key]
		if !ok {
			t.Errorf("route %s has no line in the access table", key)
			continue
		}
		if got := strings.Join(rt.Allow, " "); got != want {
			t.Errorf("%s: routes table allows %q, access table says %q", key, got, want)
		}
		allowed := strings.Fields(want)
		for _, role := range allRoles {
			body := ""
			if rt.Method == "POST" || rt.Method == "PUT" {
				body = "{}"
			}
			if rt.Pattern == "/v1/annotate/signin" {
				// Open to anyone; the invite token in the body is the
				// credential.
				body = `{"token":"` + toks[api.RoleAnnotator] + `"}`
			}
			var code int
			var resp string
			if key == "POST /login" {
				// Open to anyone; the token in the form is the credential.
				code, resp = postForm(t, b.url+"/login", url.Values{"token": {testToken}})
			} else {
				code, resp = call(t, rt.Method, b.url+fill.Replace(rt.Pattern), toks[role], body)
			}
			let := code != http.StatusUnauthorized && code != http.StatusForbidden
			should := slices.Contains(allowed, "anyone") || slices.Contains(allowed, role)
			if let != should {
				t.Errorf("%s as %s: %d %s; want allowed=%v", key, role, code, strings.TrimSpace(resp), should)
			}
			if code == http.StatusTooManyRequests {
				t.Errorf("%s as %s: rate limited", key, role)
			}
		}
	}
	for key := range access {
		if !seen[key] {
			t.Errorf("access table lists %s, which is not a route", key)
		}
	}
}

// Isolation: a submitter sees only its own jobs, as if others' did not
// exist; a worker cannot read results; revoked and unknown tokens are
// refused; the secret is stored nowhere.
func TestTokenIsolationAndRevocation(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	alice := mkToken(t, b.url, api.RoleSubmitter, "alice")
	bob := mkToken(t, b.url, api.RoleSubmitter, "bob")
	wk := mkToken(t, b.url, api.RoleWorker, "w")
	ctx := context.Background()
	job := &spec.Job{Name: "a", Input: spec.Input{Items: []any{"x"}}, Stages: []spec.Stage{{Name: "s", Op: "noop"}}}
	sub, err := client.New(b.url, client.WithToken(alice.Secret)).Submit(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	st, err := client.New(b.url, client.WithToken(testToken)).Job(ctx, sub.ID)
	if err != nil || st.Owner != alice.ID {
		t.Fatalf("job owner: %+v %v, want %s", st, err, alice.ID)
	}
	for _, p := range []string{"", "/results"} {
		if code, body := call(t, "GET", b.url+"/v1/jobs/"+sub.ID+p, bob.Secret, ""); code != http.StatusNotFound {
			t.Errorf("bob reads alice's job%s: %d %s, want 404", p, code, body)
		}
		if code, _ := call(t, "GET", b.url+"/v1/jobs/"+sub.ID+p, alice.Secret, ""); code != http.StatusOK {
			t.Errorf("alice reads her job%s: %d, want 200", p, code)
		}
	}
	if code, _ := call(t, "POST", b.url+"/v1/jobs/"+sub.ID+"/cancel", bob.Secret, ""); code != http.StatusNotFound {
		t.Errorf("bob cancels alice's job: %d, want 404", code)
	}
	if code, _ := call(t, "GET", b.url+"/v1/jobs/"+sub.ID+"/results", wk.Secret, ""); code != http.StatusForbidden {
		t.Errorf("worker reads results: %d, want 403", code)
	}
	jobs, err := client.New(b.url, client.WithToken(bob.Secret)).Jobs(ctx, "", 0)
	if err != nil || len(jobs) != 0 {
		t.Errorf("bob lists %d jobs (%v), want none", len(jobs), err)
	}
	jobs, err = client.New(b.url, client.WithToken(alice.Secret)).Jobs(ctx, "", 0)
	if err != nil || len(jobs) != 1 {
		t.Errorf("alice lists %d jobs (%v), want 1", len(jobs), err)
	}
	if len(sub.ID) < 17 {
		t.Errorf("job id %q is too short to be unguessable", sub.ID)
	}

	// The list shows no secrets, and the database holds none.
	code, body := call(t, "GET", b.url+"/v1/tokens", testToken, "")
	if code != http.StatusOK || strings.Contains(body, alice.Secret) || !strings.Contains(body, alice.ID) {
		t.Errorf("token list: %d %s", code, body)
	}
	db, err := os.ReadFile(filepath.Join(b.dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(filepath.Join(b.dir, sqlite.FileName+"-wal"))
	if bytes.Contains(db, []byte(alice.Secret)) || bytes.Contains(wal, []byte(alice.Secret)) {
		t.Error("the token's secret is in the database")
	}

	// Revocation takes effect at once on this coordinator.
	if code, body := call(t, "POST", b.url+"/v1/tokens/"+alice.ID+"/revoke", testToken, ""); code != http.StatusOK {
		t.Fatalf("revoke: %d %s", code, body)
	}
	if code, _ := call(t, "GET", b.url+"/v1/jobs", alice.Secret, ""); code != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", code)
	}
	if code, _ := call(t, "POST", b.url+"/v1/tokens/"+alice.ID+"/revoke", testToken, ""); code != http.StatusNotFound {
		t.Errorf("second revoke: %d, want 404", code)
	}
	if code, _ := call(t, "GET", b.url+"/v1/jobs", "myrt_"+strings.Repeat("a", 32), ""); code != http.StatusUnauthorized {
		t.Errorf("unknown token: %d, want 401", code)
	}
	if code, body := call(t, "POST", b.url+"/v1/tokens", testToken, `{"role":"annotator"}`); code != http.StatusBadRequest {
		t.Errorf("annotator API token: %d %s, want 400", code, body)
	}
}
