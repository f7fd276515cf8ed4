package human

// Annotator authentication, in one place: an annotator proves who it is
// with its invite token, sent as a bearer token or kept in a session
// cookie set at sign-in. Only the token's SHA-256 is stored. The
// server's authentication (server/auth.go) calls Authenticate to give
// these credentials the annotator role beside its API tokens; nothing
// else in the package reads credentials.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// CookieName is the annotator session cookie.
const CookieName = "myriad_annotator"

// tokenPrefix marks invite tokens, so a leaked one is recognisable.
const tokenPrefix = "myra_"

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Annotator is an authenticated annotator.
type Annotator struct {
	ID   string
	Name string
	rt   *annRT
}

// newToken returns a random invite token (160 bits) and its hash.
func newToken() (string, [32]byte) {
	var b [20]byte
	rand.Read(b[:])
	tok := tokenPrefix + strings.ToLower(tokenEncoding.EncodeToString(b[:]))
	return tok, sha256.Sum256([]byte(tok))
}

// newAnnotatorID returns "a" and 64 random bits.
func newAnnotatorID() string {
	var b [8]byte
	rand.Read(b[:])
	return "a" + strings.ToLower(tokenEncoding.EncodeToString(b[:]))
}

// tokenFrom reads the credentials of a request: a bearer token, else the
// session cookie.
func tokenFrom(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		return strings.TrimSpace(tok), ok
	}
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		return c.Value, false
	}
	return "", false
}

// Authenticate returns the annotator a request comes from. A request
// carrying the session cookie that changes state must also come from
// the app's own origin (the cookie is SameSite=Strict as well), so
// another site cannot act for a signed-in annotator.
func (s *Service) Authenticate(r *http.Request) (*Annotator, error) {
	tok, bearer := tokenFrom(r)
	if tok == "" {
		return nil, fmt.Errorf("sign in with your invite link: %w", ErrUnauthorized)
	}
	if !bearer && r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r) {
		return nil, fmt.Errorf("cross-site request refused: %w", ErrUnauthorized)
	}
	return s.lookupToken(tok)
}

func (s *Service) lookupToken(tok string) (*Annotator, error) {
	h := sha256.Sum256([]byte(tok))
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := s.byHash[h]
	if rt == nil {
		return nil, fmt.Errorf("unknown or revoked token: %w", ErrUnauthorized)
	}
	return &Annotator{ID: rt.rec.ID, Name: rt.rec.Name, rt: rt}, nil
}

// sameOrigin checks the browser's own statement of where a request comes
// from: Sec-Fetch-Site, else Origin against Host. Requests that carry
// neither (not from a browser) pass.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default:
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// setSession sets the session cookie: HttpOnly (scripts cannot read it),
// SameSite=Strict, Secure over TLS.
func setSession(w http.ResponseWriter, r *http.Request, tok string) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: tok, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int((30 * 24 * time.Hour).Seconds()),
	})
}

func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}
