package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/myriadhq/myriad/store"
)

func hashOf(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// testTokens: tokens are found by hash, listed oldest first with their
// revocation, revoked once, and ids and hashes are unique.
func testTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := &store.Token{ID: "tA", Name: "ci", Role: "submitter", Hash: hashOf("secret-a"), CreatedAt: t0}
	b := &store.Token{ID: "tB", Role: "worker", Hash: hashOf("secret-b"), CreatedAt: t0.Add(time.Second)}
	for _, tk := range []*store.Token{a, b} {
		if err := s.TokenInsert(ctx, tk); err != nil {
			t.Fatalf("insert %s: %v", tk.ID, err)
		}
	}
	if err := s.TokenInsert(ctx, &store.Token{ID: "tA", Role: "admin", Hash: hashOf("other"), CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate id: got %v, want ErrConflict", err)
	}
	if err := s.TokenInsert(ctx, &store.Token{ID: "tC", Role: "admin", Hash: hashOf("secret-a"), CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate hash: got %v, want ErrConflict", err)
	}
	got, err := s.TokenByHash(ctx, hashOf("secret-a"))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "tA" || got.Name != "ci" || got.Role != "submitter" || !got.CreatedAt.Equal(t0) || got.RevokedAt != nil || string(got.Hash) != string(a.Hash) {
		t.Fatalf("by hash: got %+v, want %+v", got, a)
	}
	if _, err := s.TokenByHash(ctx, hashOf("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown hash: got %v, want ErrNotFound", err)
	}
	at := t0.Add(time.Hour)
	if err := s.TokenRevoke(ctx, "tB", at); err != nil {
		t.Fatal(err)
	}
	if err := s.TokenRevoke(ctx, "tB", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second revoke: got %v, want ErrNotFound", err)
	}
	if err := s.TokenRevoke(ctx, "nope", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke unknown: got %v, want ErrNotFound", err)
	}
	rb, err := s.TokenByHash(ctx, hashOf("secret-b"))
	if err != nil {
		t.Fatal(err)
	}
	if rb.RevokedAt == nil || !rb.RevokedAt.Equal(at) {
		t.Fatalf("revoked token: RevokedAt = %v, want %v", rb.RevokedAt, at)
	}
	list, err := s.TokenList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "tA" || list[1].ID != "tB" || list[0].RevokedAt != nil || list[1].RevokedAt == nil {
		t.Fatalf("list: got %d tokens %+v", len(list), list)
	}
}

// testJobOwner: JobList filters by owner.
func testJobOwner(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, owner := range []string{"tA", "tB", "tA"} {
		j := job(string(rune('a'+i)), 1)
		j.Owner = owner
		j.CreatedAt = t0.Add(time.Duration(i) * time.Second)
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.JobInsert(ctx, j, nil) }); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err := s.JobList(ctx, &store.JobListParams{Owner: "tA"})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].ID != "c" || jobs[1].ID != "a" || jobs[0].Owner != "tA" {
		t.Fatalf("owner tA: got %d jobs, want c, a", len(jobs))
	}
	all, err := s.JobList(ctx, &store.JobListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("all owners: got %d jobs, want 3", len(all))
	}
}
