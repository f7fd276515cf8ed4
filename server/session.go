package server

// Browser sessions for the dashboard (issue 9): a person signs in once at
// /login with an API token; the server keeps it in an HttpOnly,
// SameSite=Strict cookie, which the dashboard's own requests (fetch and
// EventSource, same origin) then carry. A cookie-authenticated request
// that changes state must come from this origin (CSRF).

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"time"
)

// SessionCookie holds a signed-in browser's API token.
const SessionCookie = "myriad_session"

// loginCSP: the sign-in page is a plain form, no script at all.
const loginCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>myriad: sign in</title>
<style>body{font:16px system-ui,sans-serif;max-width:28em;margin:4em auto;padding:0 1em}input{width:100%;font:inherit;padding:.4em;box-sizing:border-box}button{margin-top:1em;font:inherit;padding:.4em 1.2em}.err{color:#b00}</style>
</head><body>
<h1>myriad</h1>
<p>Sign in to the dashboard with an API token (<code>myriad tokens create --role viewer</code>, or the admin token <code>myriad up</code> printed).</p>
{{if .}}<p class="err">{{.}}</p>{{end}}
<form method="post" action="/login"><label>API token<br><input name="token" type="password" autocomplete="current-password" autofocus required></label>
<button type="submit">Sign in</button></form>
</body></html>
`))

func writeLogin(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Security-Policy", loginCSP)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	loginPage.Execute(w, msg) // html/template escapes msg
}

// loginForm serves the sign-in page.
func (a *api0) loginForm(w http.ResponseWriter, r *http.Request) {
	writeLogin(w, http.StatusOK, "")
}

// login checks the token and keeps it in the session cookie.
func (a *api0) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		writeLogin(w, http.StatusForbidden, "Cross-site sign-in refused.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxSmallBody)
	tok := r.PostFormValue("token")
	if a.auth == nil {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	p, err := a.auth.lookup(r, tok)
	if err != nil || p.role == annotator {
		writeLogin(w, http.StatusUnauthorized, "That token is unknown or revoked.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: tok, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int((7 * 24 * time.Hour).Seconds())})
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

// logout forgets the session cookie.
func (a *api0) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// ui serves the dashboard, sending a browser that is not signed in to
// /login first (the page's data needs a token).
func (a *api0) ui(w http.ResponseWriter, r *http.Request) {
	if a.auth != nil && r.URL.Path == "/ui/" {
		if _, err := a.auth.principal(r); err != nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
	}
	a.dashboard(w, r)
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

// errCrossSite: a cookie-authenticated request that changes state came
// from another site.
var errCrossSite = fmt.Errorf("cross-site request refused: %w", errUnauthenticated)
