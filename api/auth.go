package api

import "time"

// Roles an API token may have (see docs/security.md).
const (
	// RoleAdmin may do everything.
	RoleAdmin = "admin"
	// RoleSubmitter submits jobs and reads and cancels its own.
	RoleSubmitter = "submitter"
	// RoleWorker leases, heartbeats and completes microtasks and reads
	// and writes blobs; nothing else.
	RoleWorker = "worker"
	// RoleAnnotator answers its own current human items. Annotators
	// sign in with invite tokens (POST /v1/annotators), not API tokens.
	RoleAnnotator = "annotator"
	// RoleViewer reads jobs, workers and annotators; changes nothing.
	RoleViewer = "viewer"
)

// TokenRequest is the body of POST /v1/tokens.
type TokenRequest struct {
	Role string `json:"role"`
	Name string `json:"name,omitempty"`
}

// Token describes an API token; Secret is set only in the answer to
// POST /v1/tokens, the one time it is shown.
type Token struct {
	ID        string     `json:"id"`
	Name      string     `json:"name,omitempty"`
	Role      string     `json:"role"`
	Secret    string     `json:"token,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}
