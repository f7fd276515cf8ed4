package server

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/store/postgres"
)

// IsStoreURL reports whether s names a shared store (postgres:// or
// postgresql://) rather than a data folder.
func IsStoreURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// openStoreURL opens the shared store a URL names. Several coordinators
// may open the same one at once.
func openStoreURL(ctx context.Context, raw, sync string) (store.Store, error) {
	if !IsStoreURL(raw) {
		return nil, fmt.Errorf("store: %q: want a postgres:// URL (or leave it empty for SQLite in the data folder)", redactURL(raw))
	}
	st, err := postgres.Open(ctx, raw, postgres.Options{Sync: sync})
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", redactURL(raw), err)
	}
	return st, nil
}

// redactURL hides a password in a store URL before it is shown.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
