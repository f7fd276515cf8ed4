// Package web holds the annotator web app, embedded in the binary: plain
// HTML, CSS and JavaScript with no build step. The script builds every
// element with textContent, never innerHTML, so no text from a job or
// an annotator is ever parsed as HTML.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

var files, _ = fs.Sub(static, "static")

// Serve answers GET /annotate/ (the app) and GET /annotate/{file}.
func Serve(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/annotate/")
	if name == "" {
		name = "index.html"
	}
	if strings.Contains(name, "/") || strings.HasPrefix(name, ".") {
		http.NotFound(w, r)
		return
	}
	if _, err := fs.Stat(files, name); err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, files, name)
}
