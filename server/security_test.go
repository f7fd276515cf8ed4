package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/server"
)

func start(t *testing.T, cfg server.Config) *server.Server {
	t.Helper()
	cfg.DataDir = t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	cfg.Sync = "normal"
	cfg.Logger = testLogger(t)
	s, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

// Authentication cannot be turned off beyond loopback.
func TestNoAuthOnlyOnLoopback(t *testing.T) {
	t.Parallel()
	for _, listen := range []string{"0.0.0.0:7070", ":7070", "10.1.2.3:7070", "[::]:7070"} {
		_, err := server.New(server.Config{DataDir: t.TempDir(), Listen: listen, Security: server.SecurityConfig{NoAuth: true}})
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("NoAuth on %s: %v, want a refusal naming loopback", listen, err)
		}
	}
	for _, listen := range []string{"127.0.0.1:0", "localhost:7070", "[::1]:7070"} {
		if _, err := server.New(server.Config{DataDir: t.TempDir(), Listen: listen, Security: server.SecurityConfig{NoAuth: true}}); err != nil {
			t.Errorf("NoAuth on %s: %v", listen, err)
		}
	}
	if _, err := server.New(server.Config{DataDir: t.TempDir(), Security: server.SecurityConfig{AdminToken: "short"}}); err == nil {
		t.Error("a short admin token was accepted")
	}
	if _, err := server.New(server.Config{DataDir: t.TempDir(), Security: server.SecurityConfig{WorkerToken: "myrt_CHANGE-ME-worker-000000000000000000000"}}); err == nil || !strings.Contains(err.Error(), "placeholder") {
		t.Errorf("the placeholder token was accepted: %v", err)
	}
}

// Without an admin token given, the first start writes one to the data
// folder (mode 0600) and later starts use it.
func TestBootstrapAdminToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := server.New(server.Config{DataDir: dir, Listen: "127.0.0.1:0", Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	tok := s.AdminToken()
	if !strings.HasPrefix(tok, server.TokenPrefix) || len(tok) < 32 {
		t.Fatalf("admin token %q", tok)
	}
	fi, err := os.Stat(filepath.Join(dir, server.AdminTokenFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin token file: %v %v", fi, err)
	}
	if code, _ := call(t, "GET", s.URL()+"/v1/tokens", tok, ""); code != http.StatusOK {
		t.Errorf("admin token: %d", code)
	}
	if code, _ := call(t, "GET", s.URL()+"/v1/jobs", "", ""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	s.Shutdown(context.Background())
	s2, err := server.New(server.Config{DataDir: dir, Listen: "127.0.0.1:0", Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s2.Shutdown(context.Background())
	if s2.AdminToken() != tok {
		t.Error("the admin token changed across restarts")
	}
}

// Over its rate a token gets 429 with Retry-After; another token is not
// held back by it.
func TestRateLimitPerToken(t *testing.T) {
	t.Parallel()
	s := start(t, server.Config{Security: server.SecurityConfig{AdminToken: testToken, RateLimit: 0.01, RateBurst: 3}})
	other := mkToken(t, s.URL(), "viewer", "other") // takes 1 of the admin's 3
	codes := []int{}
	for range 3 {
		code, body := call(t, "GET", s.URL()+"/v1/jobs", testToken, "")
		codes = append(codes, code)
		if code == http.StatusTooManyRequests && !strings.Contains(body, "rate limit") {
			t.Errorf("429 body %s", body)
		}
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != http.StatusTooManyRequests {
		t.Errorf("codes %v, want 200 200 429", codes)
	}
	req, _ := http.NewRequest("GET", s.URL()+"/v1/jobs", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Errorf("429 with Retry-After: %d %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if code, _ := call(t, "GET", s.URL()+"/v1/jobs", other.Secret, ""); code != http.StatusOK {
		t.Errorf("another token: %d, want 200", code)
	}
}

// writeCert makes a self-signed certificate for 127.0.0.1 and returns
// the paths of its PEM certificate and key.
func writeCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "myriad test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// With --tls-cert/--tls-key the server speaks HTTPS; a client trusting
// the CA gets through, one that does not is refused.
func TestTLS(t *testing.T) {
	t.Parallel()
	cert, key := writeCert(t)
	s := start(t, server.Config{Security: server.SecurityConfig{AdminToken: testToken, TLSCert: cert, TLSKey: key}})
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatalf("URL %s", s.URL())
	}
	hc, err := client.TLSClient(cert)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := client.New(s.URL(), client.WithToken(testToken), client.WithHTTPClient(hc)).Jobs(context.Background(), "", 0)
	if err != nil || len(jobs) != 0 {
		t.Fatalf("over TLS: %v %v", jobs, err)
	}
	if _, err := client.New(s.URL(), client.WithToken(testToken)).Jobs(context.Background(), "", 0); err == nil {
		t.Error("a client without the CA was not refused")
	}
	res, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}).Get(s.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS header over TLS")
	}
	// Go's TLS server answers plain HTTP with a 400, never the API.
	if res, err := http.Get(strings.Replace(s.URL(), "https", "http", 1) + "/healthz"); err == nil {
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Error("plain HTTP served the API on a TLS listener")
		}
	}
	if _, err := server.New(server.Config{DataDir: t.TempDir(), Security: server.SecurityConfig{TLSCert: cert}}); err == nil {
		t.Error("a certificate without a key was accepted")
	}
}

// A configured worker token (MYRIAD_WORKER_TOKEN) is known to the store
// with the worker role and nothing more.
func TestConfiguredWorkerToken(t *testing.T) {
	t.Parallel()
	wt := "myrt_deployment0worker0token0000000000"
	s := start(t, server.Config{Security: server.SecurityConfig{AdminToken: testToken, WorkerToken: wt}})
	if code, body := call(t, "GET", s.URL()+"/v1/ops", wt, ""); code != http.StatusOK {
		t.Errorf("worker token on /v1/ops: %d %s", code, body)
	}
	if code, _ := call(t, "GET", s.URL()+"/v1/jobs", wt, ""); code != http.StatusForbidden {
		t.Errorf("worker token on /v1/jobs: %d, want 403", code)
	}
}

// An annotator over its answer rate gets 429, before its answer is
// looked at.
func TestAnswerRate(t *testing.T) {
	t.Parallel()
	s := start(t, server.Config{Security: server.SecurityConfig{AdminToken: testToken, AnswerRate: 0.01, AnswerBurst: 2}})
	toks := roleTokens(t, s.URL())
	var codes []int
	for range 3 {
		code, _ := call(t, "POST", s.URL()+"/v1/annotate/tasks/1/answer", toks["annotator"], `{}`)
		codes = append(codes, code)
	}
	if codes[0] == http.StatusTooManyRequests || codes[1] == http.StatusTooManyRequests || codes[2] != http.StatusTooManyRequests {
		t.Errorf("answer codes %v, want the third to be 429", codes)
	}
	// Other annotator routes are not answers.
	if code, _ := call(t, "GET", s.URL()+"/v1/annotate/me", toks["annotator"], ""); code != http.StatusOK {
		t.Errorf("me after the answer limit: %d", code)
	}
}

// Too many items in one job is a 413 naming the limit.
func TestItemsPerJobLimit(t *testing.T) {
	t.Parallel()
	s := start(t, server.Config{Security: server.SecurityConfig{AdminToken: testToken}, Coord: coord.Config{Ops: builtinOps(), MaxItems: 3}})
	code, body := call(t, "POST", s.URL()+"/v1/jobs", testToken, `{"input":{"items":[1,2,3,4]},"stages":[{"op":"noop"}]}`)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "limit of 3") || !strings.HasPrefix(body, `{"error"`) {
		t.Errorf("4 items with a limit of 3: %d %s", code, body)
	}
	if code, body := call(t, "POST", s.URL()+"/v1/jobs", testToken, `{"input":{"items":[1,2,3]},"stages":[{"op":"noop"}]}`); code != http.StatusCreated {
		t.Errorf("3 items: %d %s", code, body)
	}
}

// A worker id, once used by one token, cannot be used by another: a
// worker token cannot report on another token's workers' leases.
func TestWorkerIDBoundToToken(t *testing.T) {
	t.Parallel()
	s := start(t, server.Config{Security: server.SecurityConfig{AdminToken: testToken}})
	w1 := mkToken(t, s.URL(), "worker", "w1")
	w2 := mkToken(t, s.URL(), "worker", "w2")
	body := `{"worker":{"id":"wk-1","name":"wk","slots":1,"ops":["noop"]},"seq":1}`
	if code, resp := call(t, "POST", s.URL()+"/v1/workers/sync", w1.Secret, body); code != http.StatusOK {
		t.Fatalf("first sync: %d %s", code, resp)
	}
	if code, resp := call(t, "POST", s.URL()+"/v1/workers/sync", w2.Secret, body); code != http.StatusForbidden || !strings.Contains(resp, "another token") {
		t.Errorf("same id, other token: %d %s, want 403", code, resp)
	}
	if code, _ := call(t, "POST", s.URL()+"/v1/workers/sync", w1.Secret, strings.Replace(body, `"seq":1`, `"seq":2`, 1)); code != http.StatusOK {
		t.Errorf("same id, same token: %d", code)
	}
}

// Every answer carries the security headers; the annotator app's HTML
// its own strict policy with no inline script.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	s := start(t, server.Config{Security: server.SecurityConfig{AdminToken: testToken}})
	for _, path := range []string{"/v1/jobs", "/healthz", "/annotate/"} {
		req, _ := http.NewRequest("GET", s.URL()+path, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		h := res.Header
		csp := h.Get("Content-Security-Policy")
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: headers %v", path, h)
		}
		if path == "/annotate/" && !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("annotator app CSP %q", csp)
		}
	}
}

// The dashboard's browser session: /ui/ sends a browser that is not
// signed in to /login; signing in with a token sets an HttpOnly,
// SameSite=Strict cookie that the API then accepts; a state-changing
// request carrying only the cookie from another site is refused.
func TestDashboardSession(t *testing.T) {
	t.Parallel()
	s := start(t, server.Config{Security: server.SecurityConfig{AdminToken: testToken}})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get(s.URL() + "/ui/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("/ui/ signed out: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if code, body := postForm(t, s.URL()+"/login", url.Values{"token": {"myrt_wrong0000000000000000000000000"}}); code != http.StatusUnauthorized || !strings.Contains(body, "unknown") {
		t.Errorf("bad token: %d %s", code, body)
	}
	res, err = noFollow.PostForm(s.URL()+"/login", url.Values{"token": {testToken}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == server.SessionCookie {
			cookie = c
		}
	}
	if res.StatusCode != http.StatusSeeOther || cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("sign in: %d cookie %+v", res.StatusCode, cookie)
	}
	withCookie := func(method, path, origin string) int {
		req, _ := http.NewRequest(method, s.URL()+path, nil)
		req.AddCookie(cookie)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		res, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := withCookie("GET", "/v1/jobs", ""); code != http.StatusOK {
		t.Errorf("API with the session cookie: %d", code)
	}
	if code := withCookie("GET", "/ui/", ""); code != http.StatusOK {
		t.Errorf("/ui/ signed in: %d", code)
	}
	if code := withCookie("POST", "/v1/jobs/jnosuch/cancel", "https://evil.example"); code != http.StatusUnauthorized {
		t.Errorf("cross-site POST with the cookie: %d, want 401", code)
	}
	if code := withCookie("POST", "/v1/jobs/jnosuch/cancel", s.URL()); code != http.StatusNotFound {
		t.Errorf("same-site POST with the cookie: %d, want 404 (no such job)", code)
	}
	if code, _ := postForm(t, s.URL()+"/login", url.Values{"token": {testToken}}); code != http.StatusSeeOther {
		t.Errorf("sign in again: %d", code)
	}
}

// /metrics names jobs and annotators: it needs an admin or viewer token
// unless PublicMetrics opens it for a scraper that cannot send one.
func TestMetricsAccess(t *testing.T) {
	t.Parallel()
	closed := start(t, server.Config{Security: server.SecurityConfig{AdminToken: testToken}})
	if code, _ := call(t, "GET", closed.URL()+"/metrics", "", ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without a token: %d, want 401", code)
	}
	if code, _ := call(t, "GET", closed.URL()+"/metrics", testToken, ""); code != http.StatusOK {
		t.Errorf("/metrics with the admin token: %d", code)
	}
	open := start(t, server.Config{Security: server.SecurityConfig{AdminToken: testToken, PublicMetrics: true}})
	if code, body := call(t, "GET", open.URL()+"/metrics", "", ""); code != http.StatusOK || !strings.Contains(body, "myriad_queue_depth") {
		t.Errorf("public /metrics: %d", code)
	}
	if code, _ := call(t, "GET", open.URL()+"/v1/jobs", "", ""); code != http.StatusUnauthorized {
		t.Errorf("PublicMetrics opened /v1/jobs: %d", code)
	}
}
