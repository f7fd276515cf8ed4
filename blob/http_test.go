package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/blob/blobtest"
)

// serve mounts a Handler the way the coordinator does and returns a client.
func serve(t *testing.T, s blob.Store, maxPut int64) (*blob.Client, *httptest.Server) {
	t.Helper()
	h := &blob.Handler{Store: s, MaxPut: maxPut}
	mux := http.NewServeMux()
	mux.Handle("/v1/blobs/{ref}", h)
	mux.Handle("POST /v1/blobs", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &blob.Client{BaseURL: srv.URL + "/v1/blobs", HTTP: srv.Client()}, srv
}

func TestClientHandlerConformance(t *testing.T) {
	t.Parallel()
	blobtest.Run(t, func(t *testing.T) blob.Store {
		c, _ := serve(t, openLocal(t, t.TempDir(), blob.LocalOptions{}), 0)
		return c
	})
}

// A worker's cache in front of the coordinator's handler: the deployment.
func TestCacheOverHTTPConformance(t *testing.T) {
	t.Parallel()
	blobtest.Run(t, func(t *testing.T) blob.Store {
		c, _ := serve(t, blob.NewMem(), 0)
		cache, _ := newCache(t, c, 8<<20)
		return cache
	})
}

func TestHandlerHTTPDetails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mem := blob.NewMem()
	client, srv := serve(t, mem, 100)
	data := []byte("0123456789abcdef")
	ref, err := blob.PutBytes(ctx, client, data)
	if err != nil {
		t.Fatal(err)
	}

	get := func(path string, hdr map[string]string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	resp, body := get("/v1/blobs/"+string(ref), map[string]string{"Range": "bytes=4-7"})
	if resp.StatusCode != http.StatusPartialContent || body != "4567" {
		t.Errorf("range GET = %d %q, want 206 %q", resp.StatusCode, body, "4567")
	}
	resp, _ = get("/v1/blobs/"+string(ref), map[string]string{"If-None-Match": `"` + string(ref) + `"`})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET = %d, want 304", resp.StatusCode)
	}
	for _, bad := range []string{"sha256:..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "sha256:" + strings.Repeat("A", 64)} {
		resp, body = get("/v1/blobs/"+bad, nil)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid ref") {
			t.Errorf("GET %s = %d %s, want 400 naming the invalid ref", bad, resp.StatusCode, body)
		}
	}

	// POST without a ref stores and names the blob.
	resp, err = srv.Client().Post(srv.URL+"/v1/blobs", "application/octet-stream", strings.NewReader("posted"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || !strings.Contains(string(b), string(blob.Sum([]byte("posted")))) {
		t.Errorf("POST = %d %s, want 201 with the ref", resp.StatusCode, b)
	}

	if err := client.PutExpect(ctx, blob.Sum([]byte("x")), bytes.NewReader(make([]byte, 101))); !errors.Is(err, blob.ErrTooLarge) {
		t.Errorf("PUT over MaxPut error = %v, want ErrTooLarge", err)
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/v1/blobs/"+string(ref), nil)
	resp, _ = srv.Client().Do(req)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE = %d, want 405", resp.StatusCode)
	}
	resp.Body.Close()
}

// A server that returns the wrong bytes is caught by the client.
func TestClientVerifiesDownloads(t *testing.T) {
	t.Parallel()
	ref := blob.Sum([]byte("expected"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "tampered")
	}))
	t.Cleanup(srv.Close)
	c := &blob.Client{BaseURL: srv.URL, HTTP: srv.Client()}
	rc, err := c.Open(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(rc); !errors.Is(err, blob.ErrHashMismatch) {
		t.Fatalf("reading tampered body error = %v, want ErrHashMismatch", err)
	}
}
