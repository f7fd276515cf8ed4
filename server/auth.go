package server

// Authentication and authorisation (issue 9): every route in the routes
// table names the roles that may call it; guard checks the caller's
// credentials against that before the handler runs. API tokens are
// random, shown once and stored as SHA-256 hashes; annotators keep using
// the invite tokens and session cookies of package human, which guard
// recognises as the annotator role.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/store"
)

// roles is a set of roles: the routes table's column of who may call a
// route.
type roles uint8

const (
	admin roles = 1 << iota
	submitter
	worker
	annotator
	viewer
	// anyone: the route asks for no credentials (health probes, the
	// annotator app's static files and sign-in).
	anyone
)

var roleByName = map[string]roles{
	api.RoleAdmin: admin, api.RoleSubmitter: submitter, api.RoleWorker: worker,
	api.RoleAnnotator: annotator, api.RoleViewer: viewer,
}

func (r roles) String() string {
	var out []string
	for _, n := range []string{api.RoleAdmin, api.RoleSubmitter, api.RoleWorker, api.RoleAnnotator, api.RoleViewer} {
		if r&roleByName[n] != 0 {
			out = append(out, n)
		}
	}
	if r&anyone != 0 {
		out = append(out, "anyone")
	}
	return strings.Join(out, ",")
}

// TokenPrefix starts every API token, so a leaked one is recognisable
// (annotators' invite tokens start with "myra_").
const TokenPrefix = "myrt_"

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewToken makes a new API token for role: the secret, shown once, and
// the record to store (its SHA-256 only). The secret carries 160 random
// bits from crypto/rand.
func NewToken(role, name string, now time.Time) (string, *store.Token, error) {
	if r, ok := roleByName[role]; !ok || r == annotator {
		return "", nil, fmt.Errorf("role %q: want admin, submitter, worker or viewer (annotators get invite tokens from POST /v1/annotators): %w", role, errBadRequest)
	}
	if len(name) > 200 {
		return "", nil, fmt.Errorf("name: longer than 200 bytes: %w", errBadRequest)
	}
	var b [20]byte
	var id [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, fmt.Errorf("new token: %w", err)
	}
	if _, err := rand.Read(id[:]); err != nil {
		return "", nil, fmt.Errorf("new token: %w", err)
	}
	secret := TokenPrefix + strings.ToLower(tokenEncoding.EncodeToString(b[:]))
	h := sha256.Sum256([]byte(secret))
	return secret, &store.Token{
		ID: "t" + strings.ToLower(tokenEncoding.EncodeToString(id[:])), Name: name, Role: role,
		Hash: h[:], CreatedAt: now.UTC().Truncate(time.Millisecond),
	}, nil
}

// answerPattern is the route whose calls count against an annotator's
// answer rate.
const answerPattern = "/v1/annotate/tasks/{id}/answer"

// principal is who a request comes from.
type principal struct {
	role roles
	// id is the API token's id (what jobs record as their owner) or the
	// annotator's id.
	id string
}

const principalKey ctxKey = 1

func principalFrom(r *http.Request) *principal {
	p, _ := r.Context().Value(principalKey).(*principal)
	return p
}

// errUnauthenticated: no credentials, or unknown or revoked ones.
var errUnauthenticated = errors.New("unauthenticated")

// tokenCacheTTL is how long a token looked up in the store is trusted
// without asking again: a token revoked through another coordinator
// sharing the store stops working within this time (at once on the
// coordinator that revoked it).
const tokenCacheTTL = 5 * time.Second

// authn finds the principal of a request.
type authn struct {
	st    store.TokenStore
	human *human.Service
	now   func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]cachedToken
}

type cachedToken struct {
	p       principal
	expires time.Time
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	tok, ok := strings.CutPrefix(h, "Bearer ")
	return strings.TrimSpace(tok), ok
}

// principal authenticates r: an API token, or an annotator's invite
// token or session cookie (package human checks those, including that
// a cookie-carrying request that changes state comes from the app's own
// origin).
func (a *authn) principal(r *http.Request) (*principal, error) {
	tok, isBearer := bearer(r)
	if r.Header.Get("Authorization") != "" && !isBearer {
		return nil, fmt.Errorf("Authorization: want \"Bearer <token>\": %w", errUnauthenticated)
	}
	if tok == "" {
		// A browser signed in at /login (session.go).
		if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
			if r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r) {
				return nil, errCrossSite
			}
			return a.lookup(r, c.Value)
		}
	}
	if tok == "" || strings.HasPrefix(tok, "myra_") {
		if a.human == nil {
			if tok == "" {
				return nil, fmt.Errorf("send an API token as \"Authorization: Bearer <token>\" (MYRIAD_TOKEN): %w", errUnauthenticated)
			}
			return nil, fmt.Errorf("annotator tokens need human stages: %w", errUnauthenticated)
		}
		if tok == "" {
			if _, err := r.Cookie(human.CookieName); err != nil {
				return nil, fmt.Errorf("send an API token as \"Authorization: Bearer <token>\" (MYRIAD_TOKEN): %w", errUnauthenticated)
			}
		}
		ann, err := a.human.Authenticate(r)
		if err != nil {
			return nil, fmt.Errorf("%v: %w", err, errUnauthenticated)
		}
		return &principal{role: annotator, id: ann.ID}, nil
	}
	return a.lookup(r, tok)
}

// lookup authenticates an API token.
func (a *authn) lookup(r *http.Request, tok string) (*principal, error) {
	if tok == "" {
		return nil, fmt.Errorf("empty API token: %w", errUnauthenticated)
	}
	if a.st == nil {
		return nil, fmt.Errorf("this server has no token store: %w", errUnauthenticated)
	}
	h := sha256.Sum256([]byte(tok))
	now := a.now()
	a.mu.Lock()
	c, ok := a.cache[h]
	a.mu.Unlock()
	if ok && now.Before(c.expires) {
		p := c.p
		return &p, nil
	}
	t, err := a.st.TokenByHash(r.Context(), h[:])
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("unknown API token: %w", errUnauthenticated)
	}
	if err != nil {
		return nil, fmt.Errorf("check token: %w", err)
	}
	if t.RevokedAt != nil {
		return nil, fmt.Errorf("API token %s was revoked: %w", t.ID, errUnauthenticated)
	}
	role, ok := roleByName[t.Role]
	if !ok || role == annotator {
		return nil, fmt.Errorf("API token %s has unknown role %q: %w", t.ID, t.Role, errUnauthenticated)
	}
	p := principal{role: role, id: t.ID}
	a.mu.Lock()
	if len(a.cache) > 100_000 {
		clear(a.cache) // unbounded only if someone makes that many tokens
	}
	a.cache[h] = cachedToken{p: p, expires: now.Add(tokenCacheTTL)}
	a.mu.Unlock()
	return &p, nil
}

// forget drops a revoked token from the cache.
func (a *authn) forget(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for h, c := range a.cache {
		if c.p.id == id {
			delete(a.cache, h)
		}
	}
}

// guard wraps a route's handler with its security checks: headers, the
// caller's role against the route's, the caller's rate, and, for a
// submitter, that a job named in the path is its own.
func (a *api0) guard(rt route, next http.HandlerFunc) http.HandlerFunc {
	ownJob := strings.HasPrefix(rt.pattern, "/v1/jobs/{id}")
	return func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w, r)
		if rt.allow&anyone != 0 || rt.pattern == "/metrics" && a.publicMetrics {
			next(w, r)
			return
		}
		p := &principal{role: admin}
		if a.auth != nil {
			var err error
			if p, err = a.auth.principal(r); err != nil {
				if errors.Is(err, errUnauthenticated) {
					w.Header().Set("WWW-Authenticate", `Bearer realm="myriad"`)
					writeJSON(w, http.StatusUnauthorized, api.Error{Error: err.Error()})
					return
				}
				writeError(w, r, err)
				return
			}
		}
		if rt.allow&p.role == 0 {
			writeJSON(w, http.StatusForbidden, api.Error{Error: fmt.Sprintf("%s %s is for %s; this token's role is %s", rt.method, rt.pattern, rt.allow, p.role)})
			return
		}
		if !a.limits.allow(w, p) {
			return
		}
		if rt.pattern == answerPattern && !a.limits.allowAnswer(w, p) {
			return
		}
		if ownJob && p.role == submitter {
			st, err := a.c.Job(r.Context(), r.PathValue("id"))
			if err != nil {
				writeError(w, r, err)
				return
			}
			if st.Owner != p.id {
				// As if it did not exist: a submitter learns nothing of
				// others' jobs.
				writeJSON(w, http.StatusNotFound, api.Error{Error: fmt.Sprintf("job %s: not found", r.PathValue("id"))})
				return
			}
		}
		next(w, r.WithContext(context.WithValue(r.Context(), principalKey, p)))
	}
}

// securityHeaders go on every answer; HTML pages (the annotator app)
// set their own stricter Content-Security-Policy.
func securityHeaders(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// RouteAccess is one route and the roles that may call it ("anyone" for
// a route that needs no credentials).
type RouteAccess struct {
	Method, Pattern string
	Allow           []string
}

// Routes lists every route the server answers with who may call it, in
// the routes table's order (docs/security.md prints it).
func Routes() []RouteAccess {
	out := make([]RouteAccess, 0, len(routes))
	for _, rt := range routes {
		out = append(out, RouteAccess{Method: rt.method, Pattern: rt.pattern, Allow: strings.Split(rt.allow.String(), ",")})
	}
	return out
}

// workerOwners remembers which token each worker id first synced with,
// so a worker token cannot speak for another token's workers (and report
// on their leases). Worker processes pick a fresh random id at start.
type workerOwners struct {
	mu sync.Mutex
	m  map[string]string
}

// other reports whether id is bound to a token other than token.
func (o *workerOwners) other(id, token string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	owner, ok := o.m[id]
	return ok && owner != token
}

// claim binds id to token if it is free and reports whether token owns it.
func (o *workerOwners) claim(id, token string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil || len(o.m) > 1_000_000 {
		o.m = map[string]string{} // a bound on memory, not a feature
	}
	owner, ok := o.m[id]
	if !ok {
		o.m[id] = token
		return true
	}
	return owner == token
}
