package client_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/spec"
)

// deadURL is an address where nothing listens.
func deadURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// With several URLs, requests go to the first coordinator that answers,
// and stay with it; a 503 on a read moves on too.
func TestFailover(t *testing.T) {
	t.Parallel()
	var hits, submits atomic.Int64
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Method == http.MethodPost {
			submits.Add(1)
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"id":"j1","items":1,"tasks":1}`))
			return
		}
		w.Write([]byte(`[]`))
	}))
	defer live.Close()
	unready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":"store unavailable"}`))
	}))
	defer unready.Close()
	ctx := context.Background()

	c := client.New(deadURL(t) + "," + unready.URL + "," + live.URL)
	if _, err := c.Jobs(ctx, "", 1); err != nil {
		t.Fatalf("list jobs with a dead and an unready coordinator first: %v", err)
	}
	if _, err := c.Workers(ctx); err != nil || hits.Load() != 2 {
		t.Fatalf("second request: %v, %d hits on the live coordinator (want 2)", err, hits.Load())
	}
	// A submission whose first coordinator cannot be connected to goes
	// to the next; it reaches the live one once.
	c = client.New(deadURL(t) + "," + live.URL)
	sub, err := c.Submit(ctx, &spec.Job{Name: "x", Input: spec.Input{Items: []any{1}}, Stages: []spec.Stage{{Op: "noop"}}})
	if err != nil || sub.ID != "j1" || submits.Load() != 1 {
		t.Fatalf("submit: %+v %v, %d submissions", sub, err, submits.Load())
	}
	// A submission answered 503 is not repeated elsewhere: the error is
	// the caller's to see.
	c = client.New(unready.URL + "," + live.URL)
	if _, err := c.Submit(ctx, &spec.Job{Name: "x", Input: spec.Input{Items: []any{1}}, Stages: []spec.Stage{{Op: "noop"}}}); err == nil || submits.Load() != 1 {
		t.Fatalf("submit to an unready coordinator: %v, %d submissions (want an error and still 1)", err, submits.Load())
	}
	// Every coordinator down: the error says so.
	c = client.New(deadURL(t) + "," + deadURL(t))
	if _, err := c.Jobs(ctx, "", 1); err == nil {
		t.Fatal("no error with every coordinator down")
	}
}
