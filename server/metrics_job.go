package server

import (
	"net/http"

	"github.com/myriadhq/myriad/api"
)

// jobMetrics serves a job's training curves: GET /v1/jobs/{id}/metrics.
func (a *api0) jobMetrics(w http.ResponseWriter, r *http.Request) {
	points, err := a.c.Metrics(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.Metrics{Points: points})
}
