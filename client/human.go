package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/myriadhq/myriad/api"
)

// CreateAnnotator adds an annotator; the answer's token and link are
// shown once (only the token's hash is kept).
func (c *Client) CreateAnnotator(ctx context.Context, req api.AnnotatorCreate) (*api.AnnotatorCreated, error) {
	var out api.AnnotatorCreated
	if err := c.do(ctx, http.MethodPost, "/v1/annotators", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Annotators lists annotators with their records.
func (c *Client) Annotators(ctx context.Context) ([]api.AnnotatorInfo, error) {
	var out []api.AnnotatorInfo
	if err := c.do(ctx, http.MethodGet, "/v1/annotators", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// PauseAnnotator pauses (or, with pause false, resumes) an annotator
// given by name or id.
func (c *Client) PauseAnnotator(ctx context.Context, who string, pause bool, reason string) (*api.AnnotatorInfo, error) {
	var out api.AnnotatorInfo
	path := "/v1/annotators/" + url.PathEscape(who)
	var body any
	if pause {
		path += "/pause"
		body = api.PauseRequest{Reason: reason}
	} else {
		path += "/resume"
	}
	if err := c.do(ctx, http.MethodPost, path, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// JobAnswers copies a job's human answers (CSV: question,worker,answer,
// stage,kind,ms,answered_at) to w.
func (c *Client) JobAnswers(ctx context.Context, id string, w io.Writer) error {
	res, err := c.send(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id)+"/answers", nil)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return decodeError(res)
	}
	if _, err := io.Copy(w, res.Body); err != nil {
		return fmt.Errorf("read answers: %w", err)
	}
	return nil
}
