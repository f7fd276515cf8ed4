package blob

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/myriadhq/myriad/api"
)

// noModTime tells http.ServeContent not to send Last-Modified; blobs are
// identified by ETag alone.
var noModTime time.Time

// Client is a Store backed by a Handler over HTTP. Bytes read through Open
// are verified against the ref as they stream; a mismatch surfaces as
// ErrHashMismatch at the end of the body.
type Client struct {
	// BaseURL is where the Handler is mounted, e.g.
	// "http://coordinator:8080/v1/blobs"; refs are appended after a slash.
	BaseURL string
	// HTTP is the client to use; nil means http.DefaultClient.
	HTTP *http.Client
	// Header is added to every request (for example Authorization).
	Header http.Header
}

var _ Store = (*Client)(nil)

func (c *Client) url(ref Ref) string {
	return strings.TrimSuffix(c.BaseURL, "/") + "/" + string(ref)
}

// maxSlowDowns is how many 429 answers in a row one request waits out.
const maxSlowDowns = 10

// do makes one request. A 429 (the server's rate limit: many uploads in
// a row overrun it) is waited out as its Retry-After says and the request
// sent again, up to maxSlowDowns times, when its body can be rewound
// (none, or an io.Seeker such as a file or a bytes.Reader).
func (c *Client) do(ctx context.Context, method, url string, body io.Reader) (*http.Response, error) {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	seeker, _ := body.(io.Seeker)
	var start int64
	if seeker != nil {
		var err error
		if start, err = seeker.Seek(0, io.SeekCurrent); err != nil {
			seeker = nil
		}
	}
	for tries := 0; ; tries++ {
		req, err := http.NewRequestWithContext(ctx, method, url, body)
		if err != nil {
			return nil, err
		}
		for k, vs := range c.Header {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
		resp, err := hc.Do(req)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests || tries == maxSlowDowns || body != nil && seeker == nil {
			return resp, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err := sleepCtx(ctx, retryAfter(resp.Header.Get("Retry-After"))); err != nil {
			return nil, err
		}
		if seeker != nil {
			if _, err := seeker.Seek(start, io.SeekStart); err != nil {
				return nil, err
			}
		}
	}
}

// retryAfter is how long a 429 asks to wait: 1 s if Retry-After is
// missing or odd, at most a minute.
func retryAfter(v string) time.Duration { return min(api.RetryAfter(v, time.Second), time.Minute) }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Open implements Store.
func (c *Client) Open(ctx context.Context, ref Ref) (io.ReadCloser, error) {
	if _, err := ParseRef(string(ref)); err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, http.MethodGet, c.url(ref), nil)
	if err != nil {
		return nil, fmt.Errorf("get blob %s: %w", ref, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, errorFromResponse("get blob", ref, resp)
	}
	return struct {
		io.Reader
		io.Closer
	}{newVerifyReader(resp.Body, ref), resp.Body}, nil
}

// Stat implements Store.
func (c *Client) Stat(ctx context.Context, ref Ref) (Info, error) {
	if _, err := ParseRef(string(ref)); err != nil {
		return Info{}, err
	}
	resp, err := c.do(ctx, http.MethodHead, c.url(ref), nil)
	if err != nil {
		return Info{}, fmt.Errorf("stat blob %s: %w", ref, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Info{}, errorFromResponse("stat blob", ref, resp)
	}
	if resp.ContentLength < 0 {
		return Info{}, fmt.Errorf("stat blob %s: server sent no Content-Length", ref)
	}
	return Info{Ref: ref, Size: resp.ContentLength}, nil
}

// PutExpect implements Store with PUT {base}/{ref}; the server verifies.
func (c *Client) PutExpect(ctx context.Context, want Ref, r io.Reader) error {
	if _, err := ParseRef(string(want)); err != nil {
		return err
	}
	resp, err := c.do(ctx, http.MethodPut, c.url(want), r)
	if err != nil {
		return fmt.Errorf("put blob %s: %w", want, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return errorFromResponse("put blob", want, resp)
	}
	io.Copy(io.Discard, resp.Body)
	return nil
}

// Put implements Store. The ref must be known before the upload, so a
// seekable reader (an *os.File) is hashed and rewound; anything else is
// buffered in memory first.
func (c *Client) Put(ctx context.Context, r io.Reader) (Ref, error) {
	if rs, ok := r.(io.ReadSeeker); ok {
		start, err := rs.Seek(0, io.SeekCurrent)
		if err == nil {
			h := NewHash()
			if _, err := io.Copy(h, ctxReader{ctx, rs}); err != nil {
				return "", fmt.Errorf("put blob: %w", err)
			}
			if _, err := rs.Seek(start, io.SeekStart); err != nil {
				return "", fmt.Errorf("put blob: %w", err)
			}
			ref := RefOf(h)
			return ref, c.PutExpect(ctx, ref, rs)
		}
	}
	b, err := io.ReadAll(ctxReader{ctx, r})
	if err != nil {
		return "", fmt.Errorf("put blob: %w", err)
	}
	ref := Sum(b)
	return ref, c.PutExpect(ctx, ref, bytes.NewReader(b))
}
