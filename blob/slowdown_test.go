package blob_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/myriadhq/myriad/blob"
)

// limited serves s as the coordinator mounts it, but answers 429 to the
// first n requests.
func limited(n int32, s blob.Store) (http.Handler, *atomic.Int32) {
	h := &blob.Handler{Store: s}
	mux := http.NewServeMux()
	mux.Handle("/v1/blobs/{ref}", h)
	var seen atomic.Int32
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) <= n {
			io.Copy(io.Discard, r.Body) // as a server may have read part of it
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		mux.ServeHTTP(w, r)
	}), &seen
}

// An upload the server's rate limit refuses twice is sent again, whole,
// and lands; so does a read.
func TestClientWaitsOutRateLimit(t *testing.T) {
	ctx := context.Background()
	local, err := blob.OpenLocal(t.TempDir(), blob.LocalOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	h, seen := limited(2, local)
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := &blob.Client{BaseURL: srv.URL + "/v1/blobs"}
	data := []byte(strings.Repeat("image bytes ", 1000))
	ref, err := c.Put(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("put through two 429s: %v", err)
	}
	if n := seen.Load(); n != 3 {
		t.Fatalf("%d requests, want 3 (two refused, one stored)", n)
	}
	rc, err := local.Open(ctx, ref)
	if err != nil {
		t.Fatalf("stored blob: %v", err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("stored %d bytes, want the %d sent", len(got), len(data))
	}

	h2, _ := limited(1, local)
	srv2 := httptest.NewServer(h2)
	defer srv2.Close()
	rc, err = (&blob.Client{BaseURL: srv2.URL + "/v1/blobs"}).Open(ctx, ref)
	if err != nil {
		t.Fatalf("get through a 429: %v", err)
	}
	got, err = io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back: %v, %d bytes", err, len(got))
	}
}

// A body that cannot be rewound is not sent twice: the 429 is the answer.
func TestClientKeepsRateLimitForOneShotBody(t *testing.T) {
	local, err := blob.OpenLocal(t.TempDir(), blob.LocalOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	h, seen := limited(1, local)
	srv := httptest.NewServer(h)
	defer srv.Close()
	data := []byte("once")
	err = (&blob.Client{BaseURL: srv.URL + "/v1/blobs"}).PutExpect(context.Background(), blob.Sum(data), io.MultiReader(bytes.NewReader(data)))
	if err == nil || seen.Load() != 1 {
		t.Fatalf("err %v after %d requests; want the 429 after one", err, seen.Load())
	}
}
