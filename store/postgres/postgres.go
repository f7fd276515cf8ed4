package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/myriadhq/myriad/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tunes the store.
type Options struct {
	// MaxConns bounds the connection pool; default 8. The coordinator
	// writes through one transaction at a time, so most of these serve
	// reads (status, results, health checks).
	MaxConns int32
	// Sync is the durability of a commit, as for the SQLite store: "full"
	// (default) waits for PostgreSQL to flush it to disk; "normal" sets
	// synchronous_commit=off, so a commit survives any coordinator crash
	// but PostgreSQL's own crash may lose the last fraction of a second of
	// them (their microtasks then run again; results stay exactly once).
	Sync string
}

// Store is the PostgreSQL implementation of store.Store and store.Cluster.
type Store struct {
	pool   *pgxpool.Pool
	connCf *pgx.ConnConfig // for the leader's own session
	schema string
	keys   lockKeys

	leadMu  sync.Mutex
	leadCn  *pgx.Conn // the session that holds (or tries for) the lead
	leading bool
	closed  bool
}

var (
	_ store.Store   = (*Store)(nil)
	_ store.Cluster = (*Store)(nil)
)

// lockKeys are the advisory lock keys of one schema.
type lockKeys struct{ migrate, leader int64 }

func keysFor(schema string) lockKeys {
	h := func(s string) int64 {
		f := fnv.New64a()
		f.Write([]byte("myriad:" + s + ":" + schema))
		return int64(f.Sum64())
	}
	return lockKeys{migrate: h("migrate"), leader: h("leader")}
}

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string), applies pending migrations, and returns the store.
func Open(ctx context.Context, url string, opt Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	cfg.MaxConns = 8
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	}
	// Ask the server to notice a vanished client within seconds rather
	// than the OS default of hours: a dead leader's session (and its
	// advisory lock) must go quickly even when its host vanished without
	// closing the connection.
	rp := cfg.ConnConfig.RuntimeParams
	switch opt.Sync {
	case "", "full":
	case "normal":
		rp["synchronous_commit"] = "off"
	default:
		return nil, fmt.Errorf("open store: sync %q: want full or normal", opt.Sync)
	}
	for k, v := range map[string]string{"tcp_keepalives_idle": "5", "tcp_keepalives_interval": "2", "tcp_keepalives_count": "3"} {
		if _, set := rp[k]; !set {
			rp[k] = v
		}
	}
	if _, set := rp["application_name"]; !set {
		rp["application_name"] = "myriad"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s := &Store{pool: pool, connCf: cfg.ConnConfig.Copy()}
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&s.schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open store: connect: %w", err)
	}
	if s.schema == "" {
		pool.Close()
		return nil, errors.New("open store: the connection has no schema to create tables in (check search_path)")
	}
	s.keys = keysFor(s.schema)
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// migrate applies the embedded migrations the database has not seen, in
// one transaction under an advisory lock, so that coordinators starting
// together do not race. Migrations are tracked by file name, as in the
// SQLite store, so features developed side by side can each add one
// without renumbering the others.
func (s *Store) migrate(ctx context.Context) error {
	paths, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(paths)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", s.keys.migrate); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS myriad_schema_migrations (
			name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		rows, err := tx.Query(ctx, "SELECT name FROM myriad_schema_migrations")
		if err != nil {
			return fmt.Errorf("migrate: read applied: %w", err)
		}
		applied, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("migrate: read applied: %w", err)
		}
		known := make(map[string]bool, len(paths))
		for _, p := range paths {
			known[path.Base(p)] = true
		}
		done := make(map[string]bool, len(applied))
		for _, name := range applied {
			if !known[name] {
				return fmt.Errorf("migrate: database has migration %s that this binary does not know: use a newer myriad", name)
			}
			done[name] = true
		}
		for _, p := range paths {
			name := path.Base(p)
			if done[name] {
				continue
			}
			body, err := migrations.ReadFile(p)
			if err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("migrate %s: %w", name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO myriad_schema_migrations (name) VALUES ($1)", name); err != nil {
				return fmt.Errorf("migrate %s: %w", name, err)
			}
		}
		return nil
	})
}

// InTx implements store.Store. The transaction is READ COMMITTED: each
// statement sees what other coordinators committed before it, and row
// locks (claims, fencing updates, StageLock) order the writes that touch
// the same rows.
func (s *Store) InTx(ctx context.Context, fn func(store.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(&txn{tx: tx}); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Ping implements store.Store: a query round trip through the pool.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	return nil
}

// TryLead implements store.Cluster with a session-level advisory lock
// held on a connection outside the pool. While leading, each call checks
// that session is still alive; if it broke, the server has released the
// lock (another coordinator may hold it now), so the lead is given up.
func (s *Store) TryLead(ctx context.Context) (bool, error) {
	s.leadMu.Lock()
	defer s.leadMu.Unlock()
	if s.closed {
		return false, errors.New("lead: store closed")
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if s.leadCn == nil {
		cn, err := pgx.ConnectConfig(ctx, s.connCf)
		if err != nil {
			return false, fmt.Errorf("lead: connect: %w", err)
		}
		s.leadCn = cn
	}
	if s.leading {
		var one int
		if err := s.leadCn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
			s.dropLeadLocked()
			return false, fmt.Errorf("lead: session lost: %w", err)
		}
		return true, nil
	}
	var got bool
	if err := s.leadCn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", s.keys.leader).Scan(&got); err != nil {
		s.dropLeadLocked()
		return false, fmt.Errorf("lead: %w", err)
	}
	s.leading = got
	return got, nil
}

func (s *Store) dropLeadLocked() {
	if s.leadCn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		s.leadCn.Close(ctx)
		cancel()
	}
	s.leadCn, s.leading = nil, false
}

// Close implements store.Store; it gives up the lead.
func (s *Store) Close() error {
	s.leadMu.Lock()
	s.closed = true
	s.dropLeadLocked()
	s.leadMu.Unlock()
	s.pool.Close()
	return nil
}

// Schema is the database schema the store's tables live in.
func (s *Store) Schema() string { return s.schema }

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
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

func nullMS(v *int64) *time.Time {
	if v == nil || *v == 0 {
		return nil
	}
	t := fromMS(*v)
	return &t
}
