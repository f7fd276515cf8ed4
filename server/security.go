package server

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/store"
)

// AdminTokenFile is the file in the data folder that holds the bootstrap
// admin token (mode 0600), made at the first start.
const AdminTokenFile = "admin.token"

// SecurityConfig is the server's authentication, rate limits and TLS
// (docs/security.md).
type SecurityConfig struct {
	// AdminToken, if set, is an admin API token (e.g. from
	// MYRIAD_ADMIN_TOKEN) that Start makes sure the store knows. If not
	// set, Start reads DataDir/admin.token, creating it with a new random
	// token the first time; without a DataDir it makes a token for this
	// run only (see Server.AdminToken).
	AdminToken string
	// WorkerToken, if set (e.g. from MYRIAD_WORKER_TOKEN), is a worker
	// API token Start makes sure the store knows, so a deployment can
	// hand the same secret to its coordinators and its workers.
	WorkerToken string
	// NoAuth serves every request without credentials, as admin. Only
	// for a server listening on a loopback address: New refuses it
	// elsewhere.
	NoAuth bool
	// RateLimit is requests per second per token (default
	// DefaultRateLimit), RateBurst its burst; AnswerRate is answers per
	// second per annotator (default DefaultAnswerRate), AnswerBurst its
	// burst. Negative rates turn the limit off.
	RateLimit, AnswerRate  float64
	RateBurst, AnswerBurst int
	// PublicMetrics serves /metrics without a token, for scrapers that
	// cannot send one (Prometheus's pod annotations). The metrics name
	// active jobs and annotators; by default only admin and viewer tokens
	// read them.
	PublicMetrics bool
	// TLSCert and TLSKey are PEM files; with both set the server speaks
	// HTTPS only.
	TLSCert, TLSKey string
}

// minAdminToken is the shortest admin token accepted: 32 characters of a
// random token carry well over 128 bits.
const minAdminToken = 32

func (c *SecurityConfig) check(listen string) error {
	if c.NoAuth && !IsLoopback(listen) {
		return fmt.Errorf("server config: authentication can be turned off only on a loopback address, and %s is not one: drop --no-auth and use API tokens (docs/security.md)", listen)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("server config: --tls-cert and --tls-key go together")
	}
	if c.AdminToken != "" && len(c.AdminToken) < minAdminToken {
		return fmt.Errorf("server config: the admin token is %d characters, want at least %d random ones", len(c.AdminToken), minAdminToken)
	}
	for _, t := range []string{c.AdminToken, c.WorkerToken} {
		if strings.Contains(t, "CHANGE-ME") {
			return errors.New("server config: a token is still the placeholder from deploy/k8s/secret.yaml: replace it with a random one (docs/deploy.md)")
		}
	}
	if c.WorkerToken != "" && len(c.WorkerToken) < minAdminToken {
		return fmt.Errorf("server config: the worker token is %d characters, want at least %d random ones", len(c.WorkerToken), minAdminToken)
	}
	return nil
}

// IsLoopback reports whether a listen address ("host:port") is on the
// loopback interface only. An empty host ("":7070) listens everywhere.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *SecurityConfig) tlsConfig() (*tls.Config, error) {
	if c.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate %s and key %s: %w", c.TLSCert, c.TLSKey, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// bootstrapAdmin returns the admin token, made sure of in the store.
func (s *Server) bootstrapAdmin(ctx context.Context) (string, error) {
	tok := s.cfg.Security.AdminToken
	path := ""
	if tok == "" && s.cfg.DataDir != "" {
		path = filepath.Join(s.cfg.DataDir, AdminTokenFile)
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			tok = strings.TrimSpace(string(b))
		case !errors.Is(err, os.ErrNotExist):
			return "", fmt.Errorf("read admin token: %w", err)
		}
	}
	if tok == "" {
		secret, _, err := NewToken(api.RoleAdmin, "", time.Now())
		if err != nil {
			return "", err
		}
		tok = secret
		if path != "" {
			if err := os.MkdirAll(s.cfg.DataDir, 0o700); err != nil {
				return "", fmt.Errorf("write admin token: %w", err)
			}
			if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
				return "", fmt.Errorf("write admin token: %w", err)
			}
		}
	}
	if w := s.cfg.Security.WorkerToken; w != "" {
		if _, err := s.ensureToken(ctx, w, api.RoleWorker, "deployment workers"); err != nil {
			return "", err
		}
	}
	ok, err := s.ensureToken(ctx, tok, api.RoleAdmin, "bootstrap admin")
	if err != nil || !ok {
		return "", err
	}
	return tok, nil
}

// ensureToken stores secret as a token of role unless the store has it;
// false if the store has it revoked.
func (s *Server) ensureToken(ctx context.Context, secret, role, name string) (bool, error) {
	h := sha256.Sum256([]byte(secret))
	t, err := s.st.TokenByHash(ctx, h[:])
	switch {
	case err == nil && t.RevokedAt != nil:
		s.log.Warn("a configured token was revoked; it stays revoked", "name", name, "id", t.ID)
		return false, nil
	case err == nil && t.Role != role:
		return false, fmt.Errorf("the configured %s token is already stored with role %s", role, t.Role)
	case err == nil:
		return true, nil
	case !errors.Is(err, store.ErrNotFound):
		return false, fmt.Errorf("check %s token: %w", role, err)
	}
	_, rec, err := NewToken(role, name, time.Now())
	if err != nil {
		return false, err
	}
	rec.Hash = h[:]
	if err := s.st.TokenInsert(ctx, rec); err != nil && !errors.Is(err, store.ErrConflict) {
		return false, fmt.Errorf("store %s token: %w", role, err)
	}
	return true, nil
}

// AdminToken is the bootstrap admin API token ("" with NoAuth, or if it
// was revoked). Tests and `myriad up` use it; keep it secret.
func (s *Server) AdminToken() string { return s.admin }
