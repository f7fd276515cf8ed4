package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/myriadhq/myriad/api"
)

// Retry puts the job's dead microtasks back in the queue (a job that
// completed with errors runs again) and reports how many it revived.
func (c *Client) Retry(ctx context.Context, id string) (*api.RetryResponse, error) {
	var out api.RetryResponse
	if err := c.do(ctx, http.MethodPost, "/v1/jobs/"+url.PathEscape(id)+"/retry", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
