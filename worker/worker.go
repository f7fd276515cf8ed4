package worker

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/task"
)

// Defaults for Config.
const (
	DefaultMaxWait      = 5 * time.Second
	DefaultDrainTimeout = 30 * time.Second
	// timeoutGrace is how long past its timeout a handler that ignores
	// its context may run before the slot is taken back.
	timeoutGrace = time.Second
	// pollGrace is how long a result waits for an in-flight request to
	// come back before the request is cut short to report it, when the
	// coordinator cannot be asked to answer it (wakePoll).
	pollGrace = 25 * time.Millisecond
	// wakeTimeout bounds the request that asks for a poll's answer.
	wakeTimeout = 2 * time.Second
)

// Config configures a Worker.
type Config struct {
	// Server is the coordinator's base URL, or several separated by
	// commas (replicas sharing one store): when one does not answer, the
	// worker carries on with the next, results and leases included.
	// Required.
	Server string
	// Name is shown in listings; default the host name.
	Name string
	// Slots is the capacity: microtasks run at once; default NumCPU.
	Slots int
	// Prefetch is how many leases the worker takes beyond Slots, queued
	// here until a slot frees: quick microtasks then start without
	// waiting for a round trip, and each round trip carries more results.
	// Default 0; a few times Slots suits microtasks of milliseconds.
	// With AutoPrefetch it is the most it takes.
	Prefetch int
	// AutoPrefetch takes, of Prefetch, only as many leases as keep the
	// slots busy across a round trip: about Slots × round trip ÷ microtask
	// runtime, both measured as the worker runs (see prefetchNow). Quick
	// microtasks then queue up to Prefetch; long ones none, so no work
	// waits here that an idle worker could start. Prefetch 0 with
	// AutoPrefetch means 128 × Slots (at most 10 000).
	AutoPrefetch bool
	// Labels are matched against stages' label requirements.
	Labels map[string]string
	// Registry holds the handlers; default a new, empty one (add
	// handlers with Handle).
	Registry *Registry
	// Client makes the HTTP requests; default a client with keep-alive.
	Client *http.Client
	// Logger receives structured logs; default discards.
	Logger *slog.Logger
	// MaxWait is how long an idle worker's request waits for work.
	MaxWait time.Duration
	// DrainTimeout is how long Run, once its context ends, lets running
	// microtasks finish before handing them back.
	DrainTimeout time.Duration
	// RequestTimeout bounds a round trip to the coordinator beyond the
	// time it may wait for work; a request with no answer by then is
	// abandoned and retried, so a connection that went dead (a network
	// partition drops packets without a reset) does not hold the worker's
	// results until TCP gives up. Default: twice the coordinator's lease
	// TTL, at least 10s.
	RequestTimeout time.Duration
	// Linger lets results of quick microtasks gather for up to this long
	// before a round trip, so one request carries many.
	Linger time.Duration
	// Blobs is where handlers read and write images, tensors and models
	// (Task.Blobs). Default: a read-through cache of CacheBytes in CacheDir
	// (default a fresh temporary folder) over the coordinator's blob store.
	Blobs      blob.Store
	CacheDir   string
	CacheBytes int64
	// Journal, if set, is a file where the worker keeps its identity and
	// running leases for a supervisor (see Journal).
	Journal string
	// Token is the API token (role worker) sent with every request;
	// default the MYRIAD_TOKEN environment variable.
	Token string
}

// DefaultCacheBytes bounds a worker's blob cache.
const DefaultCacheBytes = 2 << 30

// Worker runs microtasks for a coordinator. Create it with New, add
// handlers, then call Run.
type Worker struct {
	cfg    Config
	reg    *Registry
	log    *slog.Logger
	client *http.Client
	id     string
	urls   []string // sync endpoints of the coordinators, tried in turn
	cur    int      // index into urls of the one in use
	failed int      // coordinators tried without success in a row
	blobs  blob.Store
	cache  *blob.Cache // nil if Config.Blobs was given
	tmpDir string      // a cache folder this worker made and removes

	mu            sync.Mutex
	outbox        []outcome
	progressKick  time.Time     // when a recorded metric last started a round trip
	progressTimer *time.Timer   // set while a round trip for metrics is scheduled
	notify        chan struct{} // a result is in the outbox, or a metric to send

	running  map[int64]*run // owned by Run's goroutine; queued ones included
	slots    chan struct{}  // a token per running handler, Slots at most
	pending  []outcome      // reported, not yet acknowledged
	seq      uint64
	hbEvery  time.Duration
	leaseTTL time.Duration // as the coordinator last said
	lastSent time.Time     // when the last round trip began

	pace pace // measured runtimes and round trips, for AutoPrefetch

	statsMu sync.Mutex
	stats   Stats

	connected     chan struct{} // closed after the first successful round trip
	connectedOnce sync.Once
}

// Stats counts what a worker has done.
type Stats struct {
	Done, Failed, Refused, Requests int64
}

type run struct {
	lease  api.Lease
	cancel context.CancelFunc
	state  atomic.Int32         // runQueued, then runStarted or runWithdrawn
	task   atomic.Pointer[Task] // once started: its metrics go out as progress
	sent   int                  // metric points sent as progress (Run's goroutine)
}

// States of a run: a lease queued for a slot (prefetch) either starts or
// is withdrawn (handed back on drain), never both.
const (
	runQueued int32 = iota
	runStarted
	runWithdrawn
)

type outcome struct {
	task, token int64
	done        *api.Completion
	failed      *api.Failure
}

// New returns a worker; Run starts it.
func New(cfg Config) (*Worker, error) {
	if cfg.Server == "" {
		return nil, errors.New("worker config: Server is required")
	}
	if cfg.Slots < 0 {
		return nil, fmt.Errorf("worker config: Slots %d is negative", cfg.Slots)
	}
	if cfg.Prefetch < 0 {
		return nil, fmt.Errorf("worker config: Prefetch %d is negative", cfg.Prefetch)
	}
	cfg.Slots = cmp.Or(cfg.Slots, runtime.NumCPU())
	if cfg.AutoPrefetch && cfg.Prefetch == 0 {
		cfg.Prefetch = min(autoPrefetchPerSlot*cfg.Slots, maxAutoPrefetch)
	}
	if cfg.Name == "" {
		cfg.Name, _ = os.Hostname()
		cfg.Name = cmp.Or(cfg.Name, "worker")
	}
	cfg.Token = cmp.Or(cfg.Token, os.Getenv("MYRIAD_TOKEN"))
	cfg.MaxWait = cmp.Or(cfg.MaxWait, DefaultMaxWait)
	cfg.DrainTimeout = cmp.Or(cfg.DrainTimeout, DefaultDrainTimeout)
	if cfg.Registry == nil {
		cfg.Registry = NewRegistry()
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute}}
	}
	w := &Worker{
		cfg:       cfg,
		reg:       cfg.Registry,
		log:       cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
		client:    cfg.Client,
		id:        cfg.Name + "-" + randomSuffix(),
		urls:      syncURLs(cfg.Server),
		notify:    make(chan struct{}, 1),
		running:   map[int64]*run{},
		slots:     make(chan struct{}, cfg.Slots),
		hbEvery:   5 * time.Second,
		connected: make(chan struct{}),
	}
	w.blobs = cfg.Blobs
	return w, nil
}

// openBlobs sets up the default blob cache, unless Config.Blobs is set.
func (w *Worker) openBlobs(ctx context.Context) error {
	if w.blobs != nil {
		return nil
	}
	dir := w.cfg.CacheDir
	if dir == "" {
		d, err := tempCache(w.log)
		if err != nil {
			return fmt.Errorf("blob cache: %w", err)
		}
		dir, w.tmpDir = d, d
	}
	local, err := blob.OpenLocal(dir, blob.LocalOptions{NoSync: true})
	if err != nil {
		return err
	}
	// Blobs come from the coordinator in use; all of them share one store.
	upstream := &blob.Client{BaseURL: strings.TrimSuffix(w.urls[0], "/v1/workers/sync") + "/v1/blobs", HTTP: w.client}
	if w.cfg.Token != "" {
		upstream.Header = http.Header{"Authorization": {"Bearer " + w.cfg.Token}}
	}
	cache, err := blob.NewCache(ctx, local, upstream, blob.CacheOptions{MaxBytes: cmp.Or(w.cfg.CacheBytes, DefaultCacheBytes)})
	if err != nil {
		local.Close()
		return err
	}
	w.blobs, w.cache = cache, cache
	return nil
}

// Blobs is the blob store handlers see (set once Run has started).
func (w *Worker) Blobs() blob.Store { return w.blobs }

// ID is the worker process's id as the coordinator knows it.
func (w *Worker) ID() string { return w.id }

// Handle registers h for the operator op.
func (w *Worker) Handle(op string, h Handler) { w.reg.Handle(op, h) }

// HandleItems registers an operator that maps each item on its own.
func (w *Worker) HandleItems(op string, fn ItemFunc) { w.reg.Handle(op, MapItems(fn)) }

// Connected is closed once the coordinator has answered the worker, so it
// knows the worker's operators and jobs using them can be submitted.
func (w *Worker) Connected() <-chan struct{} { return w.connected }

// Stats returns counts of what the worker did so far.
func (w *Worker) Stats() Stats {
	w.statsMu.Lock()
	defer w.statsMu.Unlock()
	return w.stats
}

// Run works until ctx ends, then drains: it takes no new work, lets
// running microtasks finish for up to DrainTimeout, hands back the rest,
// and returns once the coordinator has their results (or could not be
// reached for DrainTimeout). It returns an error only if the coordinator
// rejects the worker's requests as malformed.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.openBlobs(ctx); err != nil {
		return err
	}
	if w.tmpDir != "" {
		defer os.RemoveAll(w.tmpDir)
	}
	execCtx, stopExec := context.WithCancel(context.WithoutCancel(ctx))
	defer stopExec()
	w.log.Info("worker started", "worker", w.id, "server", w.cfg.Server, "slots", w.cfg.Slots, "ops", w.reg.Ops())
	var drainUntil time.Time
	backoff := time.Duration(0)
	for {
		draining := ctx.Err() != nil
		if draining && drainUntil.IsZero() {
			drainUntil = time.Now().Add(w.cfg.DrainTimeout)
			w.log.Info("draining", "worker", w.id, "running", len(w.running))
		}
		var released []api.TaskRef
		if draining {
			// Leases still queued for a slot go back at once: a draining
			// worker starts nothing new.
			for id, r := range w.running {
				if r.state.CompareAndSwap(runQueued, runWithdrawn) {
					r.cancel()
					released = append(released, api.TaskRef{Task: id, Token: r.lease.Token})
					delete(w.running, id)
				}
			}
		}
		if draining && time.Now().After(drainUntil) {
			for id, r := range w.running {
				r.cancel()
				released = append(released, api.TaskRef{Task: id, Token: r.lease.Token})
				delete(w.running, id)
			}
		}
		select { // the outbox is read below whatever the signal says
		case <-w.notify:
		default:
		}
		w.collect()
		if draining && len(w.running) == 0 && len(w.pending) == 0 && released == nil {
			// Tell the coordinator we are gone, best effort.
			w.send(context.Background(), 0, true, nil, 0)
			w.log.Info("worker stopped", "worker", w.id)
			return nil
		}
		if draining && len(w.pending) > 0 && time.Now().After(drainUntil.Add(w.cfg.DrainTimeout)) {
			w.log.Error("giving up: results not acknowledged", "worker", w.id, "results", len(w.pending))
			return nil
		}
		free := max(w.cfg.Slots+w.prefetchNow()-len(w.running), 0)
		if draining {
			free = 0
		}
		idle := len(w.pending) == 0 && released == nil
		if idle && draining {
			// Nothing to report: wait for a result or the drain deadline,
			// but not past the next heartbeat, which keeps the leases of
			// the microtasks still running from expiring.
			if next := w.lastSent.Add(w.hbEvery); time.Now().Before(next) {
				w.waitEvent(ctx, next, drainUntil)
				continue
			}
		}
		if !idle && w.cfg.Linger > 0 && len(w.running) > 0 && len(w.pending) < free {
			time.Sleep(w.cfg.Linger)
			w.collect()
		}
		// With nothing to report, the request waits (long poll) for work
		// if there are free slots, or for stop notices if not; it is
		// itself the heartbeat.
		wait := time.Duration(0)
		if idle && !draining && w.stats.Requests > 0 {
			wait = min(w.cfg.MaxWait, w.hbEvery)
		}
		reqCtx, cancelReq := context.WithTimeout(context.Background(), wait+w.requestTimeout())
		if wait > 0 {
			// A long poll ends early when a result is ready to report
			// or Run's context ends.
			stop := make(chan struct{})
			sent := time.Now()
			wakeURL := w.wakeURL()
			go func() {
				select {
				case <-w.notify:
					// Ask the coordinator to answer the poll now: it comes
					// back cleanly, with any leases it took, and the
					// results go out on the next request.
					if w.wakePoll(reqCtx, wakeURL) {
						return
					}
					// A coordinator that cannot: cut the request short.
					// One that is not waiting yet is likely being
					// answered with leases: cutting it would lose them
					// in transit (they go back to the queue a round trip
					// later). Give it a moment to come back first.
					if d := pollGrace - time.Since(sent); d > 0 {
						t := time.NewTimer(d)
						select {
						case <-t.C:
						case <-stop:
							t.Stop()
							return
						}
					}
					cancelReq()
				case <-ctx.Done():
					// Draining: the poll may be coming back with leases;
					// have it answered rather than cut, so they arrive (and
					// are handed back or run) instead of being lost in
					// transit.
					if !w.wakePoll(reqCtx, wakeURL) {
						cancelReq()
					}
				case <-stop:
				}
			}()
			resp, err := w.send(reqCtx, free, draining, released, wait)
			close(stop)
			cancelReq()
			if w.afterSend(execCtx, resp, err, &backoff) {
				return err
			}
		} else {
			resp, err := w.send(reqCtx, free, draining, released, 0)
			cancelReq()
			if w.afterSend(execCtx, resp, err, &backoff) {
				return err
			}
		}
		if backoff > 0 {
			w.sleep(ctx, backoff)
		}
	}
}

// requestTimeout is how long a round trip may take beyond its wait.
func (w *Worker) requestTimeout() time.Duration {
	if w.cfg.RequestTimeout > 0 {
		return w.cfg.RequestTimeout
	}
	return max(2*w.leaseTTL, 10*time.Second)
}

// afterSend applies a response; it reports true if Run must return err.
func (w *Worker) afterSend(execCtx context.Context, resp *api.SyncResponse, err error, backoff *time.Duration) bool {
	var fatal *fatalError
	if errors.As(err, &fatal) {
		w.log.Error("coordinator rejected the worker's request", "worker", w.id, "err", err)
		return true
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return false // a long poll cut short on purpose
		}
		if w.failover() {
			w.log.Warn("coordinator unreachable; failing over", "worker", w.id, "err", err, "next", w.urls[w.cur])
			return false
		}
		*backoff = min(max(*backoff*2, 100*time.Millisecond), 5*time.Second)
		w.log.Warn("coordinator unreachable; will retry", "worker", w.id, "err", err, "results_kept", len(w.pending), "retry_in", backoff.String())
		return false
	}
	*backoff = 0
	w.failed = 0
	w.connectedOnce.Do(func() { close(w.connected) })
	w.apply(execCtx, resp)
	return false
}

// collect moves finished results from the outbox to pending, dropping
// those of microtasks no longer ours.
func (w *Worker) collect() {
	w.mu.Lock()
	out := w.outbox
	w.outbox = nil
	w.mu.Unlock()
	for _, o := range out {
		r, ok := w.running[o.task]
		if !ok || r.lease.Token != o.token {
			continue
		}
		delete(w.running, o.task)
		w.pending = append(w.pending, o)
	}
}

func (w *Worker) kick() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func (w *Worker) waitEvent(ctx context.Context, until, drainUntil time.Time) {
	d := time.Until(until)
	if !drainUntil.IsZero() {
		d = min(d, time.Until(drainUntil))
	}
	t := time.NewTimer(max(d, time.Millisecond))
	defer t.Stop()
	done := ctx.Done()
	if ctx.Err() != nil {
		done = nil // already draining: wait for results or the deadline
	}
	select {
	case <-w.notify:
	case <-t.C:
	case <-done:
	}
}

// sleep waits d, or until ctx ends; once Run is draining (ctx already
// ended) it waits the full d, so a retry backoff still holds.
func (w *Worker) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	done := ctx.Done()
	if ctx.Err() != nil {
		done = nil
	}
	select {
	case <-t.C:
	case <-done:
	}
}

type fatalError struct{ msg string }

func (e *fatalError) Error() string { return e.msg }

// send makes one round trip.
func (w *Worker) send(ctx context.Context, want int, draining bool, released []api.TaskRef, wait time.Duration) (*api.SyncResponse, error) {
	w.seq++
	w.lastSent = time.Now()
	req := &api.SyncRequest{
		Worker: api.WorkerInfo{ID: w.id, Name: w.cfg.Name, Slots: w.cfg.Slots, Prefetch: w.cfg.Prefetch, Labels: w.cfg.Labels, Ops: w.reg.Ops(),
			Load: hostLoad(), CPUs: runtime.NumCPU(), Version: Version, Cache: w.cacheInfo()},
		Seq: w.seq, Want: want, WaitMS: int(wait.Milliseconds()), Draining: draining, Released: released,
	}
	for id, r := range w.running {
		req.Running = append(req.Running, api.TaskRef{Task: id, Token: r.lease.Token})
	}
	sent := w.progress(req)
	for _, o := range w.pending {
		if o.done != nil {
			req.Done = append(req.Done, *o.done)
		} else {
			req.Failed = append(req.Failed, *o.failed)
		}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode sync: %w", err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, w.urls[w.cur], bytes.NewReader(body))
	if err != nil {
		return nil, &fatalError{fmt.Sprintf("bad server URL: %v", err)}
	}
	hr.Header.Set("Content-Type", "application/json")
	if w.cfg.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+w.cfg.Token)
	}
	res, err := w.client.Do(hr)
	w.statsMu.Lock()
	w.stats.Requests++
	w.statsMu.Unlock()
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if wait == 0 { // a long poll's time is its wait, not a round trip
		w.pace.roundTrip(time.Since(w.lastSent))
	}
	switch {
	case res.StatusCode == http.StatusOK:
	case res.StatusCode >= 500, res.StatusCode == http.StatusTooManyRequests:
		return nil, fmt.Errorf("coordinator: %s: %s", res.Status, strings.TrimSpace(string(data)))
	default:
		return nil, &fatalError{fmt.Sprintf("coordinator: %s: %s", res.Status, strings.TrimSpace(string(data)))}
	}
	var resp api.SyncResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fmt.Errorf("decode sync response: %w", err)
	}
	// Everything reported was decided (accepted or refused).
	w.statsMu.Lock()
	for _, o := range w.pending {
		if o.done != nil {
			w.stats.Done++
		} else {
			w.stats.Failed++
		}
	}
	w.stats.Refused += int64(len(resp.Refused))
	w.statsMu.Unlock()
	for _, r := range resp.Refused {
		w.log.Warn("result refused", "worker", w.id, "task", r.Task, "reason", r.Reason)
	}
	w.pending = w.pending[:0]
	sent()
	return &resp, nil
}

// apply starts granted work and stops what the coordinator cancels.
func (w *Worker) apply(execCtx context.Context, resp *api.SyncResponse) {
	if resp.HeartbeatMS > 0 {
		w.hbEvery = time.Duration(resp.HeartbeatMS) * time.Millisecond
	}
	if resp.LeaseTTLMS > 0 {
		w.leaseTTL = time.Duration(resp.LeaseTTLMS) * time.Millisecond
	}
	for _, c := range resp.Cancel {
		if r, ok := w.running[c.Task]; ok && r.lease.Token == c.Token {
			r.cancel()
			delete(w.running, c.Task)
		}
	}
	type start struct {
		ctx    context.Context
		cancel context.CancelFunc
		run    *run
	}
	starts := make([]start, 0, len(resp.Leases))
	for _, l := range resp.Leases {
		ctx, cancel := context.WithCancel(execCtx)
		r := &run{lease: l, cancel: cancel}
		w.running[l.Task] = r
		starts = append(starts, start{ctx, cancel, r})
	}
	// Journaled before they start, so a microtask that kills the process
	// at once is still on record for the supervisor.
	w.writeJournal()
	for _, s := range starts {
		go w.execute(s.ctx, s.cancel, s.run)
	}
}

func (w *Worker) cacheInfo() *task.CacheInfo {
	if w.cache == nil {
		return nil
	}
	st := w.cache.Stats()
	return &task.CacheInfo{Blobs: st.Blobs, Bytes: st.Bytes, BytesFetched: st.BytesFetched, BytesServed: st.BytesServed, BytesUploaded: st.BytesUploaded}
}

// Version is reported to the coordinator.
var Version = "dev"
