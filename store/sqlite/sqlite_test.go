package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/store/sqlite"
	"github.com/myriadhq/myriad/store/storetest"
	"github.com/myriadhq/myriad/task"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{Sync: "normal"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestReopenKeepsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.InTx(ctx, func(tx store.Tx) error {
		return tx.WorkerUpsert(ctx, &task.Worker{ID: "w1", Slots: 3})
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ws, err := s.WorkerList(ctx)
	if err != nil || len(ws) != 1 || ws[0].Slots != 3 {
		t.Fatalf("after reopen: %+v %v", ws, err)
	}
}

// Migrations are tracked by name: reopening applies nothing twice, and a
// database migrated by a newer binary is refused rather than misread.
func TestMigrationsByName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, dir, sqlite.Options{}) // nothing to apply twice
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (name, applied_at) VALUES ('9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := sqlite.Open(ctx, dir, sqlite.Options{}); err == nil || !strings.Contains(err.Error(), "9999_future.sql") {
		t.Fatalf("opening a database from the future: %v", err)
	}
}
