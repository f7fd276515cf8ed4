package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/myriadhq/myriad/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// FileName is the database file inside a data folder.
const FileName = "myriad.db"

// Options tunes the store.
type Options struct {
	// Sync is SQLite's synchronous setting: "full" (default) makes each
	// commit durable against power loss; "normal" only against process
	// crashes, which is what a coordinator SIGKILL needs.
	Sync string
	// Readers is the size of the read pool; default 4.
	Readers int
}

// Store is the SQLite implementation of store.Store.
type Store struct {
	w, r  *sql.DB // writer (one connection) and readers
	stmts *stmts
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the store in dir and applies pending
// migrations.
func Open(ctx context.Context, dir string, opt Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	sync := strings.ToUpper(cmpOr(opt.Sync, "full"))
	if sync != "FULL" && sync != "NORMAL" {
		return nil, fmt.Errorf("open store: sync %q: want full or normal", opt.Sync)
	}
	path := filepath.Join(dir, FileName)
	dsn := func(extra string) string {
		q := url.Values{}
		for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(" + sync + ")", "foreign_keys(1)", "cache_size(-65536)"} {
			q.Add("_pragma", p)
		}
		return "file:" + path + "?" + q.Encode() + extra
	}
	w, err := sql.Open("sqlite", dsn("&_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	s := &Store{w: w}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn("&_pragma=query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	r.SetMaxOpenConns(cmpOr(opt.Readers, 4))
	s.r = r
	if s.stmts, err = prepare(ctx, w); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// migrate applies, in name order, each embedded migration the database
// has not applied yet, each in its own transaction, recording it by name
// in schema_migrations. Tracking names rather than a version counter keeps
// it right when migrations from different branches land out of order.
func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(names)
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	applied := map[string]bool{}
	rows, err := s.w.QueryContext(ctx, `SELECT name FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return fmt.Errorf("migrate: %w", err)
		}
		applied[n] = true
	}
	rows.Close()
	known := map[string]bool{}
	for _, n := range names {
		known[path.Base(n)] = true
	}
	for n := range applied {
		if !known[n] {
			return fmt.Errorf("migrate: the database has migration %s, which this binary does not know: use a newer myriad", n)
		}
	}
	for _, full := range names {
		name := path.Base(full)
		if applied[name] {
			continue
		}
		body, err := migrations.ReadFile(full)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, time.Now().UnixMilli()); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate %s: %w", name, err)
		}
	}
	return nil
}

// InTx implements store.Store.
func (s *Store) InTx(ctx context.Context, fn func(store.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(&txn{tx: tx, st: s.stmts}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Ping implements store.Store: it checks both a read and the writer.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	var errs []error
	if s.stmts != nil {
		s.stmts.close()
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		// Fold the WAL back into the main file so the folder is tidy.
		s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		errs = append(errs, s.w.Close())
	}
	return errors.Join(errs...)
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func nullMS(v sql.NullInt64) *time.Time {
	if !v.Valid || v.Int64 == 0 {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}
