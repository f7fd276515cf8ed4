// Package sim drives simulated annotators through the real annotator HTTP
// API, for tests, benchmarks and demos: each simulated annotator signs in
// with its own invite token, asks for work, answers (by crowd.Simulator's
// model of accuracy, bias, speed and spam, or from a recorded answer set)
// or skips, exactly as the web app does.
package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/myriadhq/myriad/api"
)

// Client is one annotator's client of the annotator API, authenticated
// with its invite token as a bearer token.
type Client struct {
	base  string
	token string
	http  *http.Client
	// Record, if set, receives every raw response body (the security test
	// scans them).
	Record  func(path string, body []byte)
	limited atomic.Int64
}

// Limits of the wait after a 429: each wait is Retry-After, at most
// MaxRetryAfter; a request limited MaxLimited times in a row fails.
const (
	MaxRetryAfter = 10 * time.Second
	MaxLimited    = 30
)

// NewClient returns a client for the coordinator at base.
func NewClient(base, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(base, "/"), token: token, http: hc}
}

// Error is a non-2xx answer.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Msg) }

// Status returns the HTTP status of an *Error, 0 otherwise.
func Status(err error) int {
	if e, ok := err.(*Error); ok {
		return e.Status
	}
	return 0
}

// Limited returns how many of the client's requests were answered 429
// (and sent again).
func (c *Client) Limited() int { return int(c.limited.Load()) }

// call sends one request. A 429 (rate limited: the server did nothing)
// is waited out, Retry-After as the server asks within MaxRetryAfter,
// and the same request is sent again.
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	for tries := 1; ; tries++ {
		wait, err := c.try(ctx, method, path, body, out)
		if wait == 0 || tries == MaxLimited {
			return err
		}
		c.limited.Add(1)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("%s %s: waiting out a rate limit: %w", method, path, ctx.Err())
		}
	}
}

// try sends the request once; on a 429 it returns how long to wait.
func (c *Client) try(ctx context.Context, method, path string, in []byte, out any) (time.Duration, error) {
	var body io.Reader
	if in != nil {
		body = bytes.NewReader(in)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, err
	}
	if c.Record != nil {
		c.Record(path, data)
	}
	if res.StatusCode >= 300 {
		var e api.Error
		json.Unmarshal(data, &e)
		var wait time.Duration
		if res.StatusCode == http.StatusTooManyRequests {
			wait = retryAfter(res.Header.Get("Retry-After"))
		}
		return wait, &Error{Status: res.StatusCode, Msg: e.Error}
	}
	if out == nil {
		return 0, nil
	}
	return 0, json.Unmarshal(data, out)
}

// retryAfter is how long a 429 asks to wait: at least 1 s (also when
// Retry-After is missing or a date), at most MaxRetryAfter.
func retryAfter(h string) time.Duration {
	return min(max(api.RetryAfter(h, time.Second), time.Second), MaxRetryAfter)
}

// Me returns the annotator and its progress.
func (c *Client) Me(ctx context.Context) (*api.Me, error) {
	var out api.Me
	return &out, c.call(ctx, http.MethodGet, "/v1/annotate/me", nil, &out)
}

// Stages lists the stages the annotator may work on.
func (c *Client) Stages(ctx context.Context) ([]api.AnnotateStage, error) {
	var out []api.AnnotateStage
	return out, c.call(ctx, http.MethodGet, "/v1/annotate/stages", nil, &out)
}

// Next asks for the annotator's current items topped up with new ones.
func (c *Client) Next(ctx context.Context, req api.NextRequest) (*api.TasksResponse, error) {
	var out api.TasksResponse
	return &out, c.call(ctx, http.MethodPost, "/v1/annotate/next", req, &out)
}

// Answer answers a task.
func (c *Client) Answer(ctx context.Context, id int64, req api.AnswerRequest) (*api.TasksResponse, error) {
	var out api.TasksResponse
	return &out, c.call(ctx, http.MethodPost, fmt.Sprintf("/v1/annotate/tasks/%d/answer", id), req, &out)
}

// Skip gives a task back.
func (c *Client) Skip(ctx context.Context, id int64, next int) (*api.TasksResponse, error) {
	var out api.TasksResponse
	return &out, c.call(ctx, http.MethodPost, fmt.Sprintf("/v1/annotate/tasks/%d/skip", id), map[string]int{"next": next}, &out)
}

// Undo takes back the last answer.
func (c *Client) Undo(ctx context.Context, id int64) (*api.TasksResponse, error) {
	var out api.TasksResponse
	return &out, c.call(ctx, http.MethodPost, fmt.Sprintf("/v1/annotate/tasks/%d/undo", id), nil, &out)
}

// Signout gives back the annotator's items.
func (c *Client) Signout(ctx context.Context) error {
	return c.call(ctx, http.MethodPost, "/v1/annotate/signout", nil, nil)
}
