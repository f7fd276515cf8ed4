package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/server"
	"github.com/myriadhq/myriad/store/sqlite"
)

// FuzzAPI sends arbitrary bodies to the routes that decode JSON (and the
// YAML job spec): the server answers each with a JSON client error or a
// success, never a 500 or a panic.
func FuzzAPI(f *testing.F) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, f.TempDir(), sqlite.Options{Sync: "normal"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	c, err := coord.New(coord.Config{Store: st, Ops: builtinOps(), MaxItems: 1000})
	if err != nil {
		f.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(c.Stop)
	h := server.Handler(c, server.HandlerOptions{NoAuth: true, Tokens: st, MaxBody: 1 << 20, MaxSync: 1 << 20})
	targets := []struct{ path, ct string }{
		{"/v1/jobs", "application/json"},
		{"/v1/jobs", "application/yaml"},
		{"/v1/workers/sync", "application/json"},
		{"/v1/tokens", "application/json"},
	}
	for i, s := range []string{
		`{"name":"x","input":{"items":[1,2]},"stages":[{"op":"noop"}]}`,
		"name: y\ninput: {items: [a]}\nstages: [{op: wordcount}]\n",
		`{"worker":{"id":"w1","slots":1,"ops":["noop"]},"seq":1,"want":1,"done":[{"task":1,"token":1,"items":[]}]}`,
		`{"role":"viewer","name":"n"}`,
		`{"worker":{"id":""},"failed":[{"task":-1}],"running":[{"task":9e99}]}`,
		`{"stages":[{"op":"sum","batch":1e9}],"input":{"items":[{"id":{}}]}}`,
	} {
		f.Add(uint8(i), []byte(s))
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		tg := targets[int(which)%len(targets)]
		rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		req := httptest.NewRequest(http.MethodPost, tg.path, bytes.NewReader(body)).WithContext(rctx)
		req.Header.Set("Content-Type", tg.ct)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("POST %s (%s): %d %s", tg.path, tg.ct, rec.Code, rec.Body.String())
		}
		if rec.Code >= 400 && rec.Code != 499 {
			var e api.Error
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("POST %s: %d with a body that is not a JSON error: %q", tg.path, rec.Code, rec.Body.String())
			}
		}
	})
}
