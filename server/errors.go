package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/spec"
)

// writeError maps an error to its HTTP status once, here.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		// The client went away (e.g. a worker cut its long poll short to
		// report a result); there is no one to answer.
		w.WriteHeader(499)
		return
	}
	status := http.StatusInternalServerError
	body := api.Error{Error: err.Error()}
	var mbe *http.MaxBytesError
	var serr spec.Errors
	switch {
	case errors.As(err, &mbe), errors.Is(err, coord.ErrTooLarge):
		status = http.StatusRequestEntityTooLarge
	case errors.As(err, &serr):
		status = http.StatusBadRequest
		body.Error = "invalid job spec"
		for _, e := range serr {
			body.Details = append(body.Details, e.Error())
		}
	case errors.Is(err, spec.ErrInvalid), errors.Is(err, coord.ErrBadRequest), errors.Is(err, errBadRequest):
		status = http.StatusBadRequest
	case errors.Is(err, coord.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, coord.ErrConflict):
		status = http.StatusConflict
	case errors.Is(err, coord.ErrStopped), errors.Is(err, coord.ErrUnavailable):
		// Nothing was committed; the client may retry.
		status = http.StatusServiceUnavailable
	}
	if status >= 500 {
		logFrom(r).Error("request failed", "status", status, "err", err)
	}
	writeJSON(w, status, body)
}

var errBadRequest = errors.New("bad request")

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.Encode(v)
}
