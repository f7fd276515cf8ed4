package server

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/task"
)

//go:embed openapi.yaml
var openapiSpec []byte

// OpenAPI returns the API description served at /v1/openapi.yaml.
func OpenAPI() []byte { return openapiSpec }

// api0 holds what the handlers need.
type api0 struct {
	c       *coord.Coordinator
	h       *human.HTTP    // nil without human stages
	maxBody int64          // job submissions
	maxSync int64          // worker round trips
	blobs   http.Handler   // /v1/blobs, nil without a blob store
	m       *metrics       // /metrics
	tp      *throughputLog // jobs' done counts over time; nil if not kept
	auth    *authn         // nil when serving without authentication
	tokens  store.TokenStore
	limits  *limits
	// workerIDs binds each worker id to the token that first used it.
	workerIDs workerOwners
	// publicMetrics serves /metrics without credentials.
	publicMetrics bool
}

func (a *api0) submit(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.maxBody))
	if err != nil {
		writeError(w, r, fmt.Errorf("read job spec: %w", err))
		return
	}
	var j *spec.Job
	ct := r.Header.Get("Content-Type")
	if strings.Contains(ct, "yaml") {
		j, err = spec.Parse("request body", body)
	} else {
		j, err = spec.ParseJSON(body)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	sub, err := a.c.Compile(j)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if p := principalFrom(r); p != nil {
		sub.Owner = p.id
	}
	job, tasks, err := a.c.Submit(r.Context(), sub)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/jobs/"+job.ID)
	writeJSON(w, http.StatusCreated, api.SubmitResponse{ID: job.ID, Items: job.Items, Tasks: tasks})
}

func (a *api0) listJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, r, fmt.Errorf("limit: %q is not a count: %w", v, errBadRequest))
			return
		}
		limit = n
	}
	state := task.JobState(q.Get("state"))
	switch state {
	case "", task.JobRunning, task.JobCompleted, task.JobCompletedWithErrors, task.JobCanceled:
	default:
		writeError(w, r, fmt.Errorf("state: unknown job state %q: %w", state, errBadRequest))
		return
	}
	owner := ""
	if p := principalFrom(r); p != nil && p.role == submitter {
		owner = p.id // a submitter sees its own jobs only
	}
	jobs, err := a.c.JobsOf(r.Context(), owner, state, limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, jobs)
}

func (a *api0) getJob(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if v := r.URL.Query().Get("wait_ms"); v != "" {
		// Long poll: answer when the job ends or the wait is over.
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 0 {
			writeError(w, r, fmt.Errorf("wait_ms: %q is not a count of milliseconds: %w", v, errBadRequest))
			return
		}
		wctx, cancel := context.WithTimeout(ctx, min(time.Duration(ms)*time.Millisecond, 60*time.Second))
		_, err = a.c.Wait(wctx, r.PathValue("id"))
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			writeError(w, r, err)
			return
		}
	}
	st, err := a.c.Job(ctx, r.PathValue("id"))
	if err == nil {
		err = a.addHuman(r, st)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (a *api0) results(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := a.c.Job(r.Context(), id); err != nil {
		writeError(w, r, err)
		return
	}
	stages := r.URL.Query()["stage"]
	dropped := r.URL.Query().Get("dropped") == "true"
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	started := false
	err := a.c.Results(r.Context(), id, stages, dropped, func(l *api.ResultLine) error {
		if !started {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		return enc.Encode(l)
	})
	if err != nil && !started {
		writeError(w, r, err)
		return
	}
	if !started {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
	}
	if err != nil {
		// Headers are gone; cut the stream short so the client sees an
		// incomplete body rather than a silently short one.
		logFrom(r).Error("results stream failed", "job", id, "err", err)
		panic(http.ErrAbortHandler)
	}
	bw.Flush()
}

func (a *api0) cancel(w http.ResponseWriter, r *http.Request) {
	if err := a.c.Cancel(r.Context(), r.PathValue("id")); err != nil {
		writeError(w, r, err)
		return
	}
	st, err := a.c.Job(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (a *api0) sync(w http.ResponseWriter, r *http.Request) {
	var req api.SyncRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, a.maxSync))
	if err := dec.Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, r, err)
			return
		}
		writeError(w, r, fmt.Errorf("decode sync request: %v: %w", err, errBadRequest))
		return
	}
	if p := principalFrom(r); p != nil && req.Worker.ID != "" && !a.workerIDs.claim(req.Worker.ID, p.id) {
		writeJSON(w, http.StatusForbidden, api.Error{Error: fmt.Sprintf("worker id %q belongs to another token", req.Worker.ID)})
		return
	}
	resp, err := a.c.Sync(r.Context(), &req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// wakeWorker makes the worker's waiting request (long poll) answer now,
// so it can report results at once; 204 whether or not one waits, 404 for
// a worker the coordinator does not know.
func (a *api0) wakeWorker(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if p := principalFrom(r); p != nil && a.workerIDs.other(id, p.id) {
		writeJSON(w, http.StatusForbidden, api.Error{Error: fmt.Sprintf("worker id %q belongs to another token", id)})
		return
	}
	if !a.c.Wake(id) {
		writeJSON(w, http.StatusNotFound, api.Error{Error: fmt.Sprintf("worker %q is not known here", id)})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api0) listWorkers(w http.ResponseWriter, r *http.Request) {
	// The human service's bridge is a worker only to the coordinator; the
	// people behind it are listed by GET /v1/annotators.
	ws := slices.DeleteFunc(a.c.Workers(), func(w task.Worker) bool { return w.ID == human.WorkerID })
	writeJSON(w, http.StatusOK, ws)
}

func (a *api0) listOps(w http.ResponseWriter, r *http.Request) {
	known := a.c.Ops()
	out := []api.Op{}
	for _, n := range known.Names() {
		kind, _ := known.Lookup(n)
		out = append(out, api.Op{Name: n, Reduce: kind == task.Reduce})
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api0) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(openapiSpec)
}

func (a *api0) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *api0) readyz(w http.ResponseWriter, r *http.Request) {
	if err := a.c.Ready(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, api.Error{Error: "not ready: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// blob serves the blob store: GET/HEAD/PUT /v1/blobs/{ref}, POST /v1/blobs.
func (a *api0) blob(w http.ResponseWriter, r *http.Request) {
	if a.blobs == nil {
		writeJSON(w, http.StatusNotFound, api.Error{Error: "this coordinator has no blob store"})
		return
	}
	a.blobs.ServeHTTP(w, r)
}
