package human

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/human/web"
)

// HTTP serves the annotator API (/v1/annotate/...), the annotator admin
// API (/v1/annotators...) and the annotator web app (/annotate/). The
// server's route table maps each route to one of its methods.
type HTTP struct {
	s *Service
}

// HTTP returns the Service's HTTP handlers.
func (s *Service) HTTP() *HTTP { return &HTTP{s: s} }

// maxRequest bounds an annotator API request body.
const maxRequest = 64 << 10

// ContentSecurityPolicy is the annotator app's policy: its own scripts
// and styles only, images from the web or data: URIs, nothing inline.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError maps the package's errors to HTTP statuses, once.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		w.WriteHeader(499)
		return
	}
	status := http.StatusInternalServerError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, ErrUnauthorized):
		status = http.StatusUnauthorized
	case errors.Is(err, ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, ErrConflict):
		status = http.StatusConflict
	case errors.Is(err, ErrStopped):
		status = http.StatusServiceUnavailable
	}
	msg := err.Error()
	if status == http.StatusInternalServerError {
		msg = "internal error: " + msg
	}
	writeJSON(w, status, api.Error{Error: msg})
}

// decode reads a JSON body strictly; an empty body is the zero value.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequest))
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode request: %v: %w", err, ErrInvalid)
	}
	return nil
}

func (h *HTTP) auth(w http.ResponseWriter, r *http.Request) (*Annotator, bool) {
	a, err := h.s.Authenticate(r)
	if err != nil {
		writeError(w, r, err)
		return nil, false
	}
	return a, true
}

func taskID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("task id %q: %w", r.PathValue("id"), ErrInvalid)
	}
	return id, nil
}

// Signin exchanges an invite token for a session cookie.
func (h *HTTP) Signin(w http.ResponseWriter, r *http.Request) {
	var req api.SigninRequest
	if err := decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if !sameOrigin(r) {
		writeError(w, r, fmt.Errorf("cross-site sign-in refused: %w", ErrUnauthorized))
		return
	}
	a, err := h.s.lookupToken(req.Token)
	if err != nil {
		writeError(w, r, err)
		return
	}
	setSession(w, r, req.Token)
	writeJSON(w, http.StatusOK, h.s.Me(a))
}

// Signout gives back the annotator's items and ends the session.
func (h *HTTP) Signout(w http.ResponseWriter, r *http.Request) {
	a, ok := h.auth(w, r)
	if !ok {
		return
	}
	if err := h.s.Signout(r.Context(), a); err != nil {
		writeError(w, r, err)
		return
	}
	clearSession(w, r)
	writeJSON(w, http.StatusOK, map[string]string{"status": "signed out"})
}

// Me describes the signed-in annotator.
func (h *HTTP) Me(w http.ResponseWriter, r *http.Request) {
	if a, ok := h.auth(w, r); ok {
		writeJSON(w, http.StatusOK, h.s.Me(a))
	}
}

// Stages lists the stages the annotator may work on, with instructions.
func (h *HTTP) Stages(w http.ResponseWriter, r *http.Request) {
	if a, ok := h.auth(w, r); ok {
		writeJSON(w, http.StatusOK, h.s.Stages(a))
	}
}

// Next hands the annotator its current items topped up with new ones.
func (h *HTTP) Next(w http.ResponseWriter, r *http.Request) {
	a, ok := h.auth(w, r)
	if !ok {
		return
	}
	var req api.NextRequest
	if err := decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	resp, err := h.s.Next(r.Context(), a, req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// Answer records an answer.
func (h *HTTP) Answer(w http.ResponseWriter, r *http.Request) {
	a, ok := h.auth(w, r)
	if !ok {
		return
	}
	id, err := taskID(r)
	var req api.AnswerRequest
	if err == nil {
		err = decode(w, r, &req)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	resp, err := h.s.Answer(r.Context(), a, id, req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// Skip gives a task back.
func (h *HTTP) Skip(w http.ResponseWriter, r *http.Request) {
	a, ok := h.auth(w, r)
	if !ok {
		return
	}
	id, err := taskID(r)
	var req struct {
		Next int `json:"next"`
	}
	if err == nil {
		err = decode(w, r, &req)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	resp, err := h.s.Skip(r.Context(), a, id, req.Next)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// Undo takes back the annotator's last answer.
func (h *HTTP) Undo(w http.ResponseWriter, r *http.Request) {
	a, ok := h.auth(w, r)
	if !ok {
		return
	}
	id, err := taskID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	resp, err := h.s.Undo(r.Context(), a, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// CreateAnnotator adds an annotator; the answer holds its invite link,
// shown once.
func (h *HTTP) CreateAnnotator(w http.ResponseWriter, r *http.Request) {
	var req api.AnnotatorCreate
	if err := decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	out, err := h.s.CreateAnnotator(r.Context(), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	// The token rides in the fragment, which browsers never send to a
	// server, so it stays out of access logs.
	out.Link = (&url.URL{Scheme: scheme, Host: r.Host, Path: "/annotate/", Fragment: "invite=" + out.Token}).String()
	writeJSON(w, http.StatusCreated, out)
}

// ListAnnotators lists annotators with their records.
func (h *HTTP) ListAnnotators(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.s.Annotators())
}

// PauseAnnotator pauses an annotator.
func (h *HTTP) PauseAnnotator(w http.ResponseWriter, r *http.Request) {
	var req api.PauseRequest
	if err := decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	h.setPaused(w, r, true, req.Reason)
}

// ResumeAnnotator lifts an operator's pause.
func (h *HTTP) ResumeAnnotator(w http.ResponseWriter, r *http.Request) {
	h.setPaused(w, r, false, "")
}

func (h *HTTP) setPaused(w http.ResponseWriter, r *http.Request, paused bool, reason string) {
	info, err := h.s.SetPaused(r.Context(), r.PathValue("name"), paused, reason)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// JobAnswers exports a job's answers as CSV.
func (h *HTTP) JobAnswers(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := h.s.WriteAnswers(r.Context(), r.PathValue("id"), &buf); err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// JobHuman returns the human stages' status of a job (nil if it has
// none), for the job status.
func (h *HTTP) JobHuman(ctx context.Context, jobID string) ([]api.HumanStageStatus, error) {
	return h.s.JobHuman(ctx, jobID)
}

// App serves the annotator web app, with a strict Content Security
// Policy.
func (h *HTTP) App(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	web.Serve(w, r)
}
