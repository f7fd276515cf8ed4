// Package pgtest gives each test its own empty PostgreSQL schema, so tests
// that need a real database run in parallel without seeing each other.
//
// The server is MYRIAD_TEST_POSTGRES, default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable (what
// scripts/deps.sh sets up). A test that cannot reach it fails: a missing
// database is a broken test machine, not a reason to skip.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the database tests use unless MYRIAD_TEST_POSTGRES says
// otherwise.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// BaseURL is the test database's URL.
func BaseURL() string {
	if u := os.Getenv("MYRIAD_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultURL
}

// URL creates a fresh schema for t, drops it when t ends, and returns a
// connection URL whose search_path is that schema.
func URL(t testing.TB) string {
	t.Helper()
	base := BaseURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: cannot connect to PostgreSQL at %s (set MYRIAD_TEST_POSTGRES, or run scripts/deps.sh to install and start it): %v", redact(base), err)
	}
	defer conn.Close(context.Background())
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("pgtest: drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: MYRIAD_TEST_POSTGRES must be a postgres:// URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	// Tests need no durability against power loss; skip the fsyncs.
	q.Set("synchronous_commit", "off")
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
