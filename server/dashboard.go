package server

import (
	"embed"
	"io/fs"
	"net/http"
	"path"

	"github.com/myriadhq/myriad/api"
)

// The dashboard's built files: web/build.sh writes them from web/src and
// they are committed, so that `go build` needs no Node.
//
//go:embed dashboard/dist
var dashboardFiles embed.FS

var dashboardFS, _ = fs.Sub(dashboardFiles, "dashboard/dist")

// dashboardCSP allows only the dashboard's own files and API: no inline
// script, nothing from elsewhere.
const dashboardCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// root sends a person who opens the coordinator's address to the
// dashboard; any other path GET reaches here is unknown.
func (a *api0) root(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		writeJSON(w, http.StatusNotFound, api.Error{Error: "no such path: " + r.URL.Path})
		return
	}
	http.Redirect(w, r, "/ui/", http.StatusFound)
}

// dashboard serves the web dashboard at /ui/ (its page) and /ui/{file}.
func (a *api0) dashboard(w http.ResponseWriter, r *http.Request) {
	name := path.Base(r.URL.Path)
	if r.URL.Path == "/ui/" {
		name = "index.html"
	}
	if _, err := fs.Stat(dashboardFS, name); err != nil {
		writeJSON(w, http.StatusNotFound, api.Error{Error: "no such dashboard file: " + name})
		return
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", dashboardCSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, dashboardFS, name)
}
