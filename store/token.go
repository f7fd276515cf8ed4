package store

import (
	"context"
	"time"
)

// Token is an API token as the store keeps it: only the SHA-256 of the
// secret, never the secret itself (see docs/security.md).
type Token struct {
	// ID names the token in listings and revocation; it is not secret.
	ID string
	// Name is a free label ("ci", "alice's laptop").
	Name string
	// Role is what the token may do: admin, submitter, worker, viewer.
	Role string
	// Hash is the SHA-256 of the secret token (32 bytes).
	Hash      []byte
	CreatedAt time.Time
	// RevokedAt is set once the token is revoked; it then authenticates
	// nothing.
	RevokedAt *time.Time
}

// TokenStore keeps API tokens. Every Store implements it.
type TokenStore interface {
	// TokenInsert stores a new token; ErrConflict if its id or hash is
	// taken.
	TokenInsert(ctx context.Context, t *Token) error
	// TokenByHash returns the token whose secret hashes to hash, revoked
	// or not, or ErrNotFound.
	TokenByHash(ctx context.Context, hash []byte) (*Token, error)
	// TokenList lists every token, revoked ones included, oldest first.
	TokenList(ctx context.Context) ([]*Token, error)
	// TokenRevoke revokes the token with the given id at at; ErrNotFound
	// if there is no such token that is not revoked already.
	TokenRevoke(ctx context.Context, id string, at time.Time) error
}
