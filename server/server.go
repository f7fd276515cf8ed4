package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/store/sqlite"
)

// Defaults for Config.
const (
	DefaultListen  = "127.0.0.1:7070"
	DefaultMaxBody = 256 << 20 // a job of ~1M small items
	DefaultMaxSync = 64 << 20
)

// Config configures a Server.
type Config struct {
	// DataDir holds the embedded store; required unless Store is set.
	DataDir string
	// Store, if set, is used instead of opening SQLite in DataDir. The
	// server does not close it.
	Store store.Store
	// Blobs holds images, tensors and models by content; default a
	// folder, BlobDir (default DataDir/blobs). Several coordinators must
	// share one (e.g. a shared volume).
	Blobs   blob.Store
	BlobDir string
	// StoreURL, if set (and Store is not), opens a shared store instead
	// of SQLite: a postgres:// URL that several servers may use at once.
	StoreURL string
	// Listen is the TCP address; "127.0.0.1:0" picks a free port.
	Listen string
	// Sync is the store's durability ("full" or "normal"): SQLite's
	// synchronous mode, or PostgreSQL's synchronous_commit (off for
	// normal).
	Sync string
	// Coord configures the coordinator; its Store field is filled in.
	Coord coord.Config
	// MaxBody bounds a job submission's body; MaxSync a worker's.
	MaxBody, MaxSync int64
	Logger           *slog.Logger
	// Human configures human stages and the annotator app (its Store and
	// Coord are filled in). They run when the store implements
	// store.HumanStore, unless NoHuman is set.
	Human   human.Config
	NoHuman bool
	// Security (issue 9, docs/security.md); see SecurityConfig.
	Security SecurityConfig
}

// Server is a coordinator with its store and HTTP listener.
type Server struct {
	cfg     Config
	log     *slog.Logger
	st      store.Store
	own     bool // st was opened here
	blobs   blob.Store
	c       *coord.Coordinator
	h       *human.Service
	ln      net.Listener
	http    *http.Server
	done    chan error
	once    sync.Once
	ready   chan struct{}
	wg      sync.WaitGroup // the throughput sampler
	admin   string         // the bootstrap admin token
	tls     bool
	tlsConf *tls.Config // nil without TLS
}

// New checks cfg; Start does the work.
func New(cfg Config) (*Server, error) {
	if cfg.DataDir == "" && cfg.Store == nil && cfg.StoreURL == "" {
		return nil, errors.New("server config: DataDir is required")
	}
	cfg.Listen = cmp.Or(cfg.Listen, DefaultListen)
	cfg.MaxBody = cmp.Or(cfg.MaxBody, DefaultMaxBody)
	cfg.MaxSync = cmp.Or(cfg.MaxSync, DefaultMaxSync)
	cfg.Logger = cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	if err := cfg.Security.check(cfg.Listen); err != nil {
		return nil, err
	}
	tlsConf, err := cfg.Security.tlsConfig()
	if err != nil {
		return nil, fmt.Errorf("server config: %w", err)
	}
	return &Server{cfg: cfg, log: cfg.Logger, ready: make(chan struct{}), tlsConf: tlsConf}, nil
}

// Start opens the store, starts the coordinator and listens.
func (s *Server) Start(ctx context.Context) error {
	s.st = s.cfg.Store
	if s.st == nil && s.cfg.StoreURL != "" {
		st, err := openStoreURL(ctx, s.cfg.StoreURL, s.cfg.Sync)
		if err != nil {
			return err
		}
		s.st, s.own = st, true
	}
	if s.st == nil {
		st, err := sqlite.Open(ctx, s.cfg.DataDir, sqlite.Options{Sync: s.cfg.Sync})
		if err != nil {
			return err
		}
		s.st, s.own = st, true
	}
	s.blobs = s.cfg.Blobs
	if s.blobs == nil {
		dir := cmp.Or(s.cfg.BlobDir, filepath.Join(s.cfg.DataDir, "blobs"))
		local, err := blob.OpenLocal(dir, blob.LocalOptions{})
		if err != nil {
			s.closeStore()
			return err
		}
		s.blobs = local
	}
	cc := s.cfg.Coord
	cc.Store = s.st
	m := newMetrics()
	cc.Hooks = m.hooks(cc.Hooks)
	cc.Logger = cmp.Or(cc.Logger, s.log)
	hs, withHuman := s.st.(store.HumanStore)
	withHuman = withHuman && !s.cfg.NoHuman
	if withHuman {
		cc.Ops = humanOps(cc.Ops)
	}
	c, err := coord.New(cc)
	if err != nil {
		s.closeStore()
		return err
	}
	if err := c.Start(ctx); err != nil {
		s.closeStore()
		return fmt.Errorf("start coordinator: %w", err)
	}
	s.c = c
	if withHuman {
		hc := s.cfg.Human
		hc.Store, hc.Coord = hs, c
		hc.Logger = cmp.Or(hc.Logger, s.log)
		h, err := human.New(hc)
		if err == nil {
			err = h.Start(ctx)
		}
		if err != nil {
			c.Stop()
			s.closeStore()
			return fmt.Errorf("start human stages: %w", err)
		}
		s.h = h
	}
	tlsConf := s.tlsConf
	if !s.cfg.Security.NoAuth {
		s.admin, err = s.bootstrapAdmin(ctx)
	}
	if err != nil {
		s.stopServices()
		s.closeStore()
		return err
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		s.stopServices()
		s.closeStore()
		return fmt.Errorf("listen: %w", err)
	}
	s.ln = ln
	tp := newThroughputLog()
	s.wg.Add(1)
	go func() { defer s.wg.Done(); tp.run(context.WithoutCancel(ctx), c) }() // ends when the coordinator stops
	sec := s.cfg.Security
	s.http = &http.Server{
		Handler: Handler(c, HandlerOptions{MaxBody: s.cfg.MaxBody, MaxSync: s.cfg.MaxSync, Logger: s.log, Blobs: s.blobs, Human: s.h, metrics: m, throughput: tp,
			Tokens: s.st, NoAuth: sec.NoAuth, RateLimit: sec.RateLimit, RateBurst: sec.RateBurst, AnswerRate: sec.AnswerRate, AnswerBurst: sec.AnswerBurst,
			PublicMetrics: sec.PublicMetrics}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		TLSConfig:         tlsConf,
	}
	s.done = make(chan error, 1)
	if tlsConf != nil {
		s.tls = true
		go func() { s.done <- s.http.ServeTLS(ln, "", "") }()
	} else {
		go func() { s.done <- s.http.Serve(ln) }()
	}
	close(s.ready)
	s.log.Info("listening", "url", s.URL())
	return nil
}

// Coordinator returns the running coordinator (nil before Start).
func (s *Server) Coordinator() *coord.Coordinator { return s.c }

// Human returns the human stages' service (nil before Start, or when the
// store keeps no human state).
func (s *Server) Human() *human.Service { return s.h }

// humanOps adds the human operator to the coordinator's operators.
func humanOps(ops map[string]coord.OpInfo) map[string]coord.OpInfo {
	out := make(map[string]coord.OpInfo, len(ops)+1)
	for k, v := range ops {
		out[k] = v
	}
	out[human.Op] = coord.OpInfo{Name: human.Op, Reduce: true, Check: human.CheckStage}
	return out
}

// stopServices stops the human service (whose bridge talks to the
// coordinator) and then the coordinator.
func (s *Server) stopServices() {
	if s.h != nil {
		s.h.Stop()
	}
	if s.c != nil {
		s.c.Stop()
	}
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is the base URL of the API.
func (s *Server) URL() string {
	if s.tls {
		return "https://" + s.ln.Addr().String()
	}
	return "http://" + s.ln.Addr().String()
}

// Done is closed with the listener's error when it stops serving.
func (s *Server) Done() <-chan error { return s.done }

// Shutdown stops accepting requests, lets those in progress finish (up to
// ctx), stops the coordinator and closes the store. Safe to call twice and
// before Start.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		if s.http != nil {
			// Long polls end at once when the coordinator stops, so stop
			// it first and then drain the HTTP side.
			s.stopServices()
			err = s.http.Shutdown(ctx)
			s.wg.Wait()
		} else {
			s.stopServices()
		}
		s.closeStore()
	})
	return err
}

func (s *Server) closeStore() {
	if s.own && s.st != nil {
		s.st.Close()
	}
	if l, ok := s.blobs.(*blob.Local); ok && s.cfg.Blobs == nil {
		l.Close()
	}
}

// Blobs is the blob store the server serves at /v1/blobs.
func (s *Server) Blobs() blob.Store { return s.blobs }

// HandlerOptions tunes Handler.
type HandlerOptions struct {
	MaxBody, MaxSync int64
	Logger           *slog.Logger
	// Blobs is served at /v1/blobs; nil answers 404 there.
	Blobs blob.Store
	// Human serves the annotator app and API; nil answers them 404.
	Human *human.Service
	// metrics is fed by the coordinator's hooks (Server sets both up);
	// without it /metrics serves the gauges only.
	metrics *metrics
	// throughput, if set, is the history the job page's chart starts from.
	throughput *throughputLog
	// Tokens authenticates API tokens; required unless NoAuth.
	Tokens store.TokenStore
	// NoAuth serves every route to anyone as admin (loopback only; the
	// Server refuses it elsewhere).
	NoAuth bool
	// Rate limits, see limits.go: per token and per annotator's answers;
	// 0 the default, negative off.
	RateLimit, AnswerRate  float64
	RateBurst, AnswerBurst int
	// PublicMetrics serves /metrics to anyone (SecurityConfig).
	PublicMetrics bool
}

// Handler serves the API over a coordinator.
func Handler(c *coord.Coordinator, opt HandlerOptions) http.Handler {
	a := &api0{c: c, maxBody: cmp.Or(opt.MaxBody, DefaultMaxBody), maxSync: cmp.Or(opt.MaxSync, DefaultMaxSync)}
	if opt.Blobs != nil {
		a.blobs = &blob.Handler{Store: opt.Blobs}
	}
	if opt.Human != nil {
		a.h = opt.Human.HTTP()
	}
	a.m = cmp.Or(opt.metrics, newMetrics())
	a.tp = opt.throughput
	a.m.c, a.m.h = c, opt.Human
	if !opt.NoAuth {
		a.auth = &authn{st: opt.Tokens, human: opt.Human, now: time.Now, cache: map[[32]byte]cachedToken{}}
	}
	a.tokens = opt.Tokens
	a.publicMetrics = opt.PublicMetrics
	a.limits = newLimits(opt.RateLimit, opt.RateBurst, opt.AnswerRate, opt.AnswerBurst)
	mux := http.NewServeMux()
	for _, rt := range routes {
		h := rt.handler
		mux.HandleFunc(rt.method+" "+rt.pattern, a.guard(rt, func(w http.ResponseWriter, r *http.Request) { h(a, w, r) }))
	}
	log := cmp.Or(opt.Logger, slog.New(slog.DiscardHandler))
	return withRequestLog(log, mux)
}
