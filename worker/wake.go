package worker

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// wakeURL is the wake endpoint of the coordinator in use, for this
// worker (POST /v1/workers/{id}/wake).
func (w *Worker) wakeURL() string {
	return strings.TrimSuffix(w.urls[w.cur], "/sync") + "/" + url.PathEscape(w.id) + "/wake"
}

// wakePoll asks the coordinator to answer the worker's waiting request
// now, and reports whether it agreed; ctx is the waiting request's.
func (w *Worker) wakePoll(ctx context.Context, u string) bool {
	ctx, cancel := context.WithTimeout(ctx, wakeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return false
	}
	if w.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+w.cfg.Token)
	}
	res, err := w.client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode == http.StatusNoContent
}
