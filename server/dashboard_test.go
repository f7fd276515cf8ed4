package server_test

import (
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/coord"
)

// The dashboard is served from the binary: / sends people to /ui/, whose
// page loads the bundled script and styles under a strict Content
// Security Policy; unknown files and paths answer 404.
func TestDashboardServed(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(b.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("GET /: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	get := func(path string) (int, http.Header, string) {
		resp, err := authGet(b.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(body)
	}
	code, h, page := get("/ui/")
	if code != 200 || !strings.Contains(page, `<script src="app.js">`) || !strings.Contains(h.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /ui/: %d %s", code, page)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Fatalf("CSP %q", csp)
	}
	for _, f := range []string{"app.js", "style.css", "uPlot.min.css"} {
		if code, _, body := get("/ui/" + f); code != 200 || len(body) < 100 {
			t.Errorf("GET /ui/%s: %d, %d bytes", f, code, len(body))
		}
	}
	for _, p := range []string{"/ui/nope.js", "/nope"} {
		if code, _, _ := get(p); code != 404 {
			t.Errorf("GET %s: %d, want 404", p, code)
		}
	}
}

// The dashboard's pure functions (progress, ETA text, DAG layout, the
// training curves' grouping, filters) have unit tests in web/src, run
// with Node's test runner (scripts/deps.sh installs Debian's nodejs).
func TestDashboardScripts(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is missing: run scripts/deps.sh (apt-get install nodejs)")
	}
	cmd := exec.Command(node, "--test", "src/")
	cmd.Dir = "../web"
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test web/src: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "# fail 0") {
		t.Fatalf("node --test web/src:\n%s", out)
	}
}
