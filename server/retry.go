package server

import (
	"net/http"

	"github.com/myriadhq/myriad/api"
)

// retry puts a job's dead microtasks back in the queue (the dashboard's
// retry button, `myriad retry`).
func (a *api0) retry(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	n, err := a.c.Retry(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	logFrom(r).Info("retry", "job", id, "revived", n)
	st, err := a.c.Job(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.RetryResponse{Revived: n, Job: st})
}
