package server

import (
	"fmt"
	"net/http"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/human"
)

// hroute adapts a human.HTTP handler to the route table; without human
// stages (a store that keeps no human state) the routes answer 404.
func hroute(f func(*human.HTTP, http.ResponseWriter, *http.Request)) func(*api0, http.ResponseWriter, *http.Request) {
	return func(a *api0, w http.ResponseWriter, r *http.Request) {
		if a.h == nil {
			writeJSON(w, http.StatusNotFound, api.Error{Error: "human stages are not enabled on this coordinator"})
			return
		}
		f(a.h, w, r)
	}
}

// addHuman adds the job's human stages to its status.
func (a *api0) addHuman(r *http.Request, st *api.JobStatus) error {
	if a.h == nil {
		return nil
	}
	hs, err := a.h.JobHuman(r.Context(), st.ID)
	if err != nil {
		return fmt.Errorf("human stages of job %s: %w", st.ID, err)
	}
	st.Human = hs
	return nil
}
