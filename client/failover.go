package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
)

func splitBases(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimRight(strings.TrimSpace(b), "/"); b != "" {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}

// send makes one request, trying the coordinators in turn from the one
// that last answered. A request that may have been acted on (anything but
// a GET, once its connection was made) is not repeated elsewhere: a
// submission must not create two jobs.
func (c *Client) send(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	start := int(c.cur.Load())
	var lastErr error
	for i := range c.bases {
		k := (start + i) % len(c.bases)
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, c.bases[k]+path, rd)
		if err != nil {
			return nil, err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		res, err := c.http.Do(req)
		switch {
		case err == nil && !unavailable(res.StatusCode):
			c.cur.Store(int64(k))
			return res, nil
		case err == nil && (method != http.MethodGet || i == len(c.bases)-1):
			c.cur.Store(int64(k))
			return res, nil // the caller reads the error
		case err == nil:
			res.Body.Close()
			lastErr = &Error{Status: res.StatusCode, Message: res.Status}
		case ctx.Err() != nil:
			return nil, err
		case method != http.MethodGet && !notConnected(err):
			return nil, err
		default:
			lastErr = err
		}
	}
	return nil, lastErr
}

// unavailable: the coordinator is up but cannot serve (its store is
// down, or a proxy in front of it has no backend).
func unavailable(code int) bool {
	return code == http.StatusBadGateway || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout
}

// notConnected: the request never reached a server, so it is safe to
// send elsewhere whatever it does.
func notConnected(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
