package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
)

// Client talks to a coordinator, or to any of several that share one
// store (see New).
type Client struct {
	bases []string
	cur   atomic.Int64 // index into bases of the one that last answered
	http  *http.Client
	token string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (for TLS settings, timeouts).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithToken sets the API token sent with every request (default the
// MYRIAD_TOKEN environment variable).
func WithToken(tok string) Option { return func(c *Client) { c.token = tok } }

// TokenEnv is the environment variable the SDK, the worker and the CLI
// take the API token from.
const TokenEnv = "MYRIAD_TOKEN"

// New returns a client for the coordinator at base (e.g.
// "http://127.0.0.1:7070"), or for several replicas sharing one store,
// separated by commas: a request that cannot reach one goes to the next.
func New(base string, opts ...Option) *Client {
	c := &Client{bases: splitBases(base), http: &http.Client{}, token: os.Getenv(TokenEnv)}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Error is a non-2xx answer.
type Error struct {
	Status  int
	Message string
	Details []string
}

func (e *Error) Error() string {
	if len(e.Details) == 0 {
		return e.Message
	}
	return e.Message + ":\n  " + strings.Join(e.Details, "\n  ")
}

// IsNotFound reports whether err is a 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// refused reports whether err is the coordinator's answer that asking
// again cannot change: a 4xx other than 408 (timeout) and 429 (slow down),
// e.g. an unknown job or a token that may not read it.
func refused(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status >= 400 && e.Status < 500 &&
		e.Status != http.StatusRequestTimeout && e.Status != http.StatusTooManyRequests
}

func (c *Client) do(ctx context.Context, method, path string, body any, out any) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
	}
	res, err := c.send(ctx, method, path, b)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		return decodeError(res)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s: %w", method, path, err)
	}
	return nil
}

func decodeError(res *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	var e api.Error
	if json.Unmarshal(data, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(data))
		if e.Error == "" {
			e.Error = res.Status
		}
	}
	return &Error{Status: res.StatusCode, Message: e.Error, Details: e.Details}
}

// Submit sends a job spec whose input is inline (see spec.Resolve).
func (c *Client) Submit(ctx context.Context, j *spec.Job) (*api.SubmitResponse, error) {
	var out api.SubmitResponse
	if err := c.do(ctx, http.MethodPost, "/v1/jobs", j, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Job returns a job's status.
func (c *Client) Job(ctx context.Context, id string) (*api.JobStatus, error) {
	return c.jobWait(ctx, id, 0)
}

// jobWait returns a job's status once it has ended or wait has passed.
func (c *Client) jobWait(ctx context.Context, id string, wait time.Duration) (*api.JobStatus, error) {
	path := "/v1/jobs/" + url.PathEscape(id)
	if wait > 0 {
		path += "?wait_ms=" + strconv.FormatInt(wait.Milliseconds(), 10)
	}
	var out api.JobStatus
	if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Jobs lists jobs, newest first; state "" lists all.
func (c *Client) Jobs(ctx context.Context, state task.JobState, limit int) ([]*api.JobStatus, error) {
	q := url.Values{}
	if state != "" {
		q.Set("state", string(state))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out []*api.JobStatus
	if err := c.do(ctx, http.MethodGet, "/v1/jobs?"+q.Encode(), nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Cancel cancels a running job.
func (c *Client) Cancel(ctx context.Context, id string) (*api.JobStatus, error) {
	var out api.JobStatus
	if err := c.do(ctx, http.MethodPost, "/v1/jobs/"+url.PathEscape(id)+"/cancel", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Workers lists the workers the coordinator has seen.
func (c *Client) Workers(ctx context.Context) ([]task.Worker, error) {
	var out []task.Worker
	if err := c.do(ctx, http.MethodGet, "/v1/workers", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Ops lists the operators jobs may use.
func (c *Client) Ops(ctx context.Context) ([]api.Op, error) {
	var out []api.Op
	if err := c.do(ctx, http.MethodGet, "/v1/ops", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Wait polls the job until it ends, calling progress (if not nil) with
// each status seen, and returns the final status. Transient errors (the
// coordinator restarting) are retried until ctx ends.
func (c *Client) Wait(ctx context.Context, id string, progress func(*api.JobStatus)) (*api.JobStatus, error) {
	// Each request waits on the server for the job to end; with a
	// progress callback it comes back often enough to show movement.
	wait := 10 * time.Second
	if progress != nil {
		wait = 250 * time.Millisecond
	}
	retry := 100 * time.Millisecond
	for {
		st, err := c.jobWait(ctx, id, wait)
		switch {
		case err == nil:
			if progress != nil {
				progress(st)
			}
			if st.State.Final() {
				return st, nil
			}
			retry = 100 * time.Millisecond
			continue
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case refused(err):
			return nil, err
		}
		// The coordinator is unreachable (restarting?) or busy: retry.
		t := time.NewTimer(retry)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
		retry = min(retry*2, 2*time.Second)
	}
}

// Results streams the job's results (of the named stages; nil for the
// final stages), one line per item.
func (c *Client) Results(ctx context.Context, id string, stages []string, fn func(*api.ResultLine) error) error {
	return c.results(ctx, id, stages, false, fn)
}

// Dropped streams the items operators dropped from the job, with their
// reasons: the job's report (e.g. what a clean stage rejected).
func (c *Client) Dropped(ctx context.Context, id string, fn func(*api.ResultLine) error) error {
	return c.results(ctx, id, nil, true, fn)
}

func (c *Client) results(ctx context.Context, id string, stages []string, dropped bool, fn func(*api.ResultLine) error) error {
	q := url.Values{}
	if dropped {
		q.Set("dropped", "true")
	}
	for _, s := range stages {
		q.Add("stage", s)
	}
	res, err := c.send(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id)+"/results?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return decodeError(res)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 256<<20)
	for sc.Scan() {
		var l api.ResultLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("decode result line: %w", err)
		}
		if err := fn(&l); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read results: %w (the stream was cut short)", err)
	}
	return nil
}
