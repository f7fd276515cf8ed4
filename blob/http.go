package blob

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// DefaultMaxPut bounds an upload through Handler when MaxPut is unset.
const DefaultMaxPut = 1 << 30

// Handler serves a Store over HTTP. It is mux-agnostic: the coordinator
// mounts it as
//
//	mux.Handle("/v1/blobs/{ref}", &blob.Handler{Store: s})
//	mux.Handle("POST /v1/blobs", &blob.Handler{Store: s})
//
// and it answers
//
//	GET  /{ref}   the bytes (with ETag, Range and If-None-Match support)
//	HEAD /{ref}   Content-Length only
//	PUT  /{ref}   store the body, refused with 422 unless it hashes to ref
//	POST (no ref) store the body, answer {"ref": ..., "size": ...}
//
// Errors are JSON {"error": "..."} with 400 (bad ref), 404, 405, 413 and
// 422 (hash mismatch) as statuses, which Client maps back to this package's
// sentinel errors.
type Handler struct {
	Store Store
	// MaxPut bounds the body of PUT and POST; 0 means DefaultMaxPut.
	MaxPut int64
	// Ref extracts the ref from a request; nil means r.PathValue("ref").
	Ref func(r *http.Request) string
}

type putResponse struct {
	Ref  Ref   `json:"ref"`
	Size int64 `json:"size"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("ref")
	if h.Ref != nil {
		raw = h.Ref(r)
	}
	if raw == "" {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "blob ref missing from path; only POST may omit it")
			return
		}
		h.post(w, r)
		return
	}
	ref, err := ParseRef(raw)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.get(w, r, ref)
	case http.MethodPut:
		h.put(w, r, ref)
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT")
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on a blob")
	}
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request, ref Ref) {
	info, err := h.Store.Stat(r.Context(), ref)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	hdr := w.Header()
	// A blob never changes, so caches may keep it forever.
	hdr.Set("ETag", `"`+string(ref)+`"`)
	hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	hdr.Set("Content-Type", "application/octet-stream")
	if r.Method == http.MethodHead {
		hdr.Set("Content-Length", strconv.FormatInt(info.Size, 10))
		w.WriteHeader(http.StatusOK)
		return
	}
	rc, err := h.Store.Open(r.Context(), ref)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	defer rc.Close()
	if rs, ok := rc.(io.ReadSeeker); ok {
		http.ServeContent(w, r, "", noModTime, rs)
		return
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, hdr.Get("ETag")) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Length", strconv.FormatInt(info.Size, 10))
	io.Copy(w, rc)
}

func (h *Handler) put(w http.ResponseWriter, r *http.Request, ref Ref) {
	body := http.MaxBytesReader(w, r.Body, h.maxPut())
	if err := h.Store.PutExpect(r.Context(), ref, body); err != nil {
		writeStoreError(w, err)
		return
	}
	info, err := h.Store.Stat(r.Context(), ref)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, putResponse{Ref: ref, Size: info.Size})
}

func (h *Handler) post(w http.ResponseWriter, r *http.Request) {
	body := http.MaxBytesReader(w, r.Body, h.maxPut())
	ref, err := h.Store.Put(r.Context(), body)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	info, err := h.Store.Stat(r.Context(), ref)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, putResponse{Ref: ref, Size: info.Size})
}

func (h *Handler) maxPut() int64 {
	if h.MaxPut > 0 {
		return h.MaxPut
	}
	return DefaultMaxPut
}

// StatusOf maps a store error to the HTTP status Handler answers with; a
// server that wraps Handler can use it for its own responses.
func StatusOf(err error) int {
	var maxErr *http.MaxBytesError
	switch {
	case errors.Is(err, ErrInvalidRef):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrHashMismatch):
		return http.StatusUnprocessableEntity
	case errors.Is(err, ErrTooLarge), errors.As(err, &maxErr):
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

func writeStoreError(w http.ResponseWriter, err error) {
	writeError(w, StatusOf(err), err.Error())
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("ETag")
	w.Header().Del("Cache-Control")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// errorFromResponse turns a non-2xx response into an error wrapping the
// sentinel that matches its status.
func errorFromResponse(op string, ref Ref, resp *http.Response) error {
	var body struct {
		Error string `json:"error"`
	}
	msg := resp.Status
	if resp.Request != nil && resp.Request.Method != http.MethodHead {
		if b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096)); len(b) > 0 {
			if json.Unmarshal(b, &body) == nil && body.Error != "" {
				msg = body.Error
			} else {
				msg = resp.Status + ": " + truncate(string(b))
			}
		}
	}
	var kind error
	switch resp.StatusCode {
	case http.StatusBadRequest:
		kind = ErrInvalidRef
	case http.StatusNotFound:
		kind = ErrNotFound
	case http.StatusUnprocessableEntity:
		kind = ErrHashMismatch
	case http.StatusRequestEntityTooLarge:
		kind = ErrTooLarge
	}
	if kind != nil {
		return fmt.Errorf("%s %s: %w (server said: %s)", op, ref, kind, msg)
	}
	return fmt.Errorf("%s %s: server said: %s", op, ref, msg)
}
