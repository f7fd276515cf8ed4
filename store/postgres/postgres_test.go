package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/store/postgres"
	"github.com/myriadhq/myriad/store/postgres/pgtest"
	"github.com/myriadhq/myriad/store/storetest"
	"github.com/myriadhq/myriad/task"
)

func open(t *testing.T, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, pgtest.URL(t)) })
}

func TestCluster(t *testing.T) {
	t.Parallel()
	storetest.RunCluster(t, func(t *testing.T) func() store.Store {
		url := pgtest.URL(t)
		return func() store.Store { return open(t, url) }
	})
}

// Two coordinators starting at once migrate the schema once; a reopened
// store keeps its data.
func TestMigrateTwiceAndReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() {
			s, err := postgres.Open(ctx, url, postgres.Options{})
			if err == nil {
				err = s.InTx(ctx, func(tx store.Tx) error { return tx.WorkerUpsert(ctx, &task.Worker{ID: "w1", Slots: 3}) })
				s.Close()
			}
			errs <- err
		}()
	}
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s := open(t, url)
	ws, err := s.WorkerList(ctx)
	if err != nil || len(ws) != 1 || ws[0].Slots != 3 {
		t.Fatalf("after reopen: %+v %v", ws, err)
	}
}

func TestBadURL(t *testing.T) {
	t.Parallel()
	if _, err := postgres.Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", postgres.Options{}); err == nil {
		t.Fatal("opened a store where no server listens")
	}
	if _, err := postgres.Open(context.Background(), "::not a url::", postgres.Options{}); err == nil {
		t.Fatal("opened a store from a malformed URL")
	}
}

func TestSyncOption(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	s, err := postgres.Open(context.Background(), url, postgres.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := postgres.Open(context.Background(), url, postgres.Options{Sync: "sometimes"}); err == nil || !strings.Contains(err.Error(), "sync") {
		t.Fatalf("bad sync: got %v, want an error naming sync", err)
	}
}

// A database that has applied a migration this binary does not know (it
// was migrated by a newer myriad) is refused with a clear error rather than
// used with a schema the code does not expect.
func TestMigrateRefusesUnknownMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	s := open(t, url)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "INSERT INTO myriad_schema_migrations (name) VALUES ('9999_future.sql')"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = postgres.Open(ctx, url, postgres.Options{})
	if err == nil || !strings.Contains(err.Error(), "9999_future.sql") || !strings.Contains(err.Error(), "newer myriad") {
		t.Fatalf("open after a future migration: %v, want an error naming it", err)
	}
}
