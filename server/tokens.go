package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/store"
)

// maxSmallBody bounds the bodies of small JSON requests (tokens).
const maxSmallBody = 64 << 10

// decodeStrict reads a small JSON body, refusing unknown fields.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSmallBody))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode request: %v: %w", err, errBadRequest)
	}
	return nil
}

func tokenInfo(t *store.Token) api.Token {
	return api.Token{ID: t.ID, Name: t.Name, Role: t.Role, CreatedAt: t.CreatedAt, RevokedAt: t.RevokedAt}
}

// createToken makes an API token and shows its secret, the only time.
func (a *api0) createToken(w http.ResponseWriter, r *http.Request) {
	var req api.TokenRequest
	if err := decodeStrict(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	secret, t, err := NewToken(req.Role, req.Name, time.Now())
	if err == nil {
		err = a.tokens.TokenInsert(r.Context(), t)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := tokenInfo(t)
	out.Secret = secret
	logFrom(r).Info("token created", "id", t.ID, "role", t.Role, "by", principalFrom(r).id)
	writeJSON(w, http.StatusCreated, out)
}

func (a *api0) listTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := a.tokens.TokenList(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := make([]api.Token, 0, len(ts))
	for _, t := range ts {
		out = append(out, tokenInfo(t))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api0) revokeToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := a.tokens.TokenRevoke(r.Context(), id, time.Now())
	if errors.Is(err, store.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, api.Error{Error: fmt.Sprintf("token %s: no such active token", id)})
		return
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	if a.auth != nil {
		a.auth.forget(id)
	}
	logFrom(r).Info("token revoked", "id", id, "by", principalFrom(r).id)
	writeJSON(w, http.StatusOK, map[string]string{"id": id, "status": "revoked"})
}
