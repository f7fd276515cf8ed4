package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/ops"
	"github.com/myriadhq/myriad/ops/imageops"
	"github.com/myriadhq/myriad/ops/mlops"
	"github.com/myriadhq/myriad/ops/score"
	"github.com/myriadhq/myriad/server"
	"github.com/myriadhq/myriad/worker"
)

// serverFlags are the coordinator's settings, shared by up, server and run.
type serverFlags struct {
	store    string
	data     string
	listen   string
	sync     string
	leaseTTL time.Duration
	maxItems int
	// speculation (issue 4): copies of straggling microtasks.
	speculate    bool
	speculateMin time.Duration
	sec          securityFlags
}

// securityFlags are the coordinator's authentication, limits and TLS
// (docs/security.md).
type securityFlags struct {
	noAuth                bool
	rateLimit, answerRate float64
	rateBurst, answerBurs int
	maxBody               int64
	tlsCert, tlsKey       string
	publicMetrics         bool
}

func (f *securityFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.noAuth, "no-auth", false, "serve without API tokens (refused unless --listen is a loopback address)")
	fs.Float64Var(&f.rateLimit, "rate-limit", server.DefaultRateLimit, "requests per second per API token (negative: no limit)")
	fs.IntVar(&f.rateBurst, "rate-burst", server.DefaultRateBurst, "burst of requests per API token")
	fs.Float64Var(&f.answerRate, "answer-rate", server.DefaultAnswerRate, "answers per second per annotator (negative: no limit)")
	fs.IntVar(&f.answerBurs, "answer-burst", server.DefaultAnswerBurst, "burst of answers per annotator")
	fs.Int64Var(&f.maxBody, "max-body", server.DefaultMaxBody, "largest job submission body, in bytes")
	fs.BoolVar(&f.publicMetrics, "public-metrics", false, "serve /metrics without a token (it names active jobs and annotators)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate: serve HTTPS (with --tls-key)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
}

func (f *securityFlags) config() server.SecurityConfig {
	return server.SecurityConfig{
		AdminToken: os.Getenv("MYRIAD_ADMIN_TOKEN"), WorkerToken: os.Getenv("MYRIAD_WORKER_TOKEN"), NoAuth: f.noAuth,
		RateLimit: f.rateLimit, RateBurst: f.rateBurst, AnswerRate: f.answerRate, AnswerBurst: f.answerBurs,
		TLSCert: f.tlsCert, TLSKey: f.tlsKey, PublicMetrics: f.publicMetrics,
	}
}

func (f *serverFlags) register(fs *pflag.FlagSet, listen string) {
	fs.StringVar(&f.data, "data", defaultDataDir(), "data folder for the embedded store")
	fs.StringVar(&f.store, "store", os.Getenv("MYRIAD_STORE"), "shared store instead of --data: a postgres:// URL several servers may use at once (env MYRIAD_STORE)")
	fs.StringVar(&f.listen, "listen", listen, "address to listen on")
	fs.StringVar(&f.sync, "sync", "full", "store durability: full (survives power loss) or normal (survives crashes)")
	fs.DurationVar(&f.leaseTTL, "lease-ttl", coord.DefaultLeaseTTL, "how long a silent worker keeps its leases")
	fs.IntVar(&f.maxItems, "max-items", coord.DefaultMaxItems, "most items one job may have")
	fs.BoolVar(&f.speculate, "speculate", true, "run a copy of a straggling microtask on another worker (jobs may still say speculate: false)")
	fs.DurationVar(&f.speculateMin, "speculate-min", coord.DefaultSpeculateMin, "a microtask is a straggler only after running at least this long")
	f.sec.register(fs)
}

func defaultDataDir() string {
	if d := os.Getenv("MYRIAD_DATA"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "myriad")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "myriad")
	}
	return "myriad-data"
}

func builtinOps() map[string]coord.OpInfo {
	m := map[string]coord.OpInfo{}
	for _, o := range append(ops.Builtins(), imageops.Builtins()...) {
		m[o.Name] = coord.OpInfo{Name: o.Name, Reduce: o.Reduce, Check: imageops.CheckParams(o.Name)}
	}
	for name, info := range mlops.CoordOps() {
		m[name] = info
	}
	m[score.Op] = score.Info()
	return m
}

func (f *serverFlags) start(ctx context.Context, log *slog.Logger) (*server.Server, error) {
	if f.store != "" && !server.IsStoreURL(f.store) {
		return nil, badInput(fmt.Errorf("--store: want a postgres:// URL, got %q", redactStore(f.store)))
	}
	if f.leaseTTL < 100*time.Millisecond {
		return nil, badInput(fmt.Errorf("--lease-ttl %v is below 100ms", f.leaseTTL))
	}
	s, err := server.New(server.Config{
		DataDir: f.data, StoreURL: f.store, Listen: f.listen, Sync: f.sync, Logger: log, Security: f.sec.config(), MaxBody: f.sec.maxBody,
		Coord: coord.Config{LeaseTTL: f.leaseTTL, MaxItems: f.maxItems, Ops: builtinOps(), Logger: log,
			NoSpeculation: !f.speculate, SpeculateMin: f.speculateMin},
	})
	if err != nil {
		return nil, badInput(err)
	}
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// workerFlags are a worker's settings, shared by up, worker and run.
type workerFlags struct {
	slots     int
	name      string
	labels    string
	execAllow []string
	execTime  time.Duration
	drain     time.Duration
	prefetch  string
	slowdown  float64
	journal   string // set by --supervise for its child
	// ingestRoots are the folders the ingest operator may read.
	ingestRoots []string
}

func (f *workerFlags) register(fs *pflag.FlagSet, slotsHelp string) {
	fs.IntVar(&f.slots, "slots", runtime.NumCPU(), slotsHelp)
	fs.StringVar(&f.name, "name", "", "worker name (default the host name)")
	fs.StringVar(&f.labels, "labels", "", "labels, e.g. gpu=1,zone=eu")
	fs.StringSliceVar(&f.execAllow, "exec-allow", nil, "commands the exec operator may run, by name or absolute path, e.g. true,/usr/bin/convert (default none; '*' any: only on your own machine)")
	fs.DurationVar(&f.execTime, "exec-timeout", ops.DefaultExecTimeout, "longest one exec command may run")
	fs.StringSliceVar(&f.ingestRoots, "ingest-root", nil, "folders the ingest operator may read image files from (default none)")
	fs.DurationVar(&f.drain, "drain-timeout", worker.DefaultDrainTimeout, "on SIGTERM, how long running microtasks may finish")
	fs.StringVar(&f.prefetch, "prefetch", "auto", "microtasks leased beyond --slots and queued, so quick ones start without a round trip: a count, or auto (as many as cover a round trip at the measured runtime, at most 128 × --slots; none for long microtasks)")
	fs.Float64Var(&f.slowdown, "slowdown", 1, "multiply the sleep operator's durations, to play a slow host (benchmarks, tests)")
	fs.StringVar(&f.journal, "journal", "", "file where the worker keeps its running leases for a supervisor")
	fs.MarkHidden("journal")
}

// parsePrefetch reads --prefetch: "auto" or a count of 0 or more.
func parsePrefetch(s string) (n int, auto bool, err error) {
	if s == "auto" {
		return 0, true, nil
	}
	n, err = strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false, badInput(fmt.Errorf("--prefetch %q: want auto or a count of 0 or more", s))
	}
	return n, false, nil
}

func parseLabels(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if k == "" {
			return nil, badInput(fmt.Errorf("--labels: %q has no name", kv))
		}
		out[k] = v
	}
	return out, nil
}

// worker makes the worker; token and hc (nil for the default) reach the
// coordinator.
func (f *workerFlags) worker(url, token string, hc *http.Client, log *slog.Logger) (*worker.Worker, error) {
	if f.slots < 1 {
		return nil, badInput(fmt.Errorf("--slots %d: want at least 1", f.slots))
	}
	prefetch, auto, err := parsePrefetch(f.prefetch)
	if err != nil {
		return nil, err
	}
	labels, err := parseLabels(f.labels)
	if err != nil {
		return nil, err
	}
	if f.slowdown <= 0 {
		return nil, badInput(fmt.Errorf("--slowdown %v: want a positive factor", f.slowdown))
	}
	reg := worker.NewRegistry()
	ops.Register(reg, ops.Options{Exec: ops.ExecOptions{Allow: f.execAllow, Timeout: f.execTime}, SleepScale: f.slowdown})
	imageops.Register(reg, imageops.Options{IngestRoots: f.ingestRoots})
	mlops.Register(reg)
	score.Register(reg)
	return worker.New(worker.Config{Server: url, Name: f.name, Slots: f.slots, Prefetch: prefetch, AutoPrefetch: auto, Labels: labels, Registry: reg, Logger: log, DrainTimeout: f.drain,
		Journal: f.journal, Token: token, Client: hc})
}

// runWorker runs w in the background until ctx ends and it has drained.
func runWorker(ctx context.Context, w *worker.Worker) (wait func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.Run(ctx)
	}()
	return wg.Wait
}

func shutdown(s *server.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.Shutdown(ctx)
}

// where says where the coordinator keeps its state, for people.
func (f *serverFlags) where() string {
	if f.store != "" {
		return "shared store " + redactStore(f.store)
	}
	return "data in " + f.data
}

func redactStore(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
