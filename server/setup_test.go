package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/ops"
	"github.com/myriadhq/myriad/server"
	"github.com/myriadhq/myriad/worker"
)

// bundle is a running coordinator and the pieces a test needs.
type bundle struct {
	srv *server.Server
	url string
	dir string
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("MYRIAD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func builtinOps() map[string]coord.OpInfo {
	m := map[string]coord.OpInfo{}
	for _, o := range ops.Builtins() {
		m[o.Name] = coord.OpInfo{Name: o.Name, Reduce: o.Reduce}
	}
	return m
}

// setup starts a coordinator on a free loopback port with its store in a
// temporary folder (or dir, if given).
func setup(t *testing.T, cc coord.Config, dir string) *bundle {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if cc.Ops == nil {
		cc.Ops = builtinOps()
	}
	s, err := server.New(server.Config{Security: server.SecurityConfig{AdminToken: testToken}, DataDir: dir, Listen: "127.0.0.1:0", Sync: "normal", Coord: cc, Logger: testLogger(t), MaxBody: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := &bundle{srv: s, url: s.URL(), dir: dir}
	t.Cleanup(func() { b.stop() })
	return b
}

func (b *bundle) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b.srv.Shutdown(ctx)
}

// startWorker runs an in-process worker until the test ends (or stop is
// called); extra registers handlers.
func startWorker(t *testing.T, url string, slots int, extra func(w *worker.Worker)) (stop func()) {
	t.Helper()
	reg := worker.NewRegistry()
	ops.Register(reg, ops.Options{})
	w, err := worker.New(worker.Config{Server: url, Token: testToken, Slots: slots, Registry: reg, MaxWait: time.Second, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if extra != nil {
		extra(w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.Run(ctx) }()
	select {
	case <-w.Connected():
	case <-time.After(30 * time.Second):
		t.Fatal("worker did not connect")
	}
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// testToken is the admin token every test server in this package is
// started with (Security.AdminToken); the helpers send it.
const testToken = "myrt_test0admin0token0for0the0server0package0tests"

func authGet(url string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	return http.DefaultClient.Do(req)
}

func authPost(url, ct string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+testToken)
	return http.DefaultClient.Do(req)
}
