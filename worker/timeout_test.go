package worker

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// A round trip that gets no answer (the connection went dead, as in a
// network partition) is abandoned after RequestTimeout and retried,
// instead of holding the worker until TCP gives up.
func TestRequestTimeout(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	abandoned := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so that the server notices the client hanging up
		if calls.Add(1) == 1 {
			select { // never answer the first request
			case <-r.Context().Done():
				close(abandoned)
			case <-release:
			}
			return
		}
		select { // a long poll with nothing to hand out
		case <-time.After(50 * time.Millisecond):
		case <-r.Context().Done():
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.Write([]byte(`{"lease_ttl_ms": 1000, "heartbeat_ms": 300}`))
	}))
	defer srv.Close()
	defer close(release)
	w, err := New(Config{Server: srv.URL, Slots: 1, RequestTimeout: 200 * time.Millisecond, MaxWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-w.Connected():
	case <-time.After(30 * time.Second):
		t.Fatalf("the worker did not get past a request that never answers (%d requests)", calls.Load())
	}
	select {
	case <-abandoned:
	case <-time.After(10 * time.Second):
		t.Fatalf("the unanswered request was not abandoned (%d requests)", calls.Load())
	}
}
