package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/myriadhq/myriad/api"
)

// Metrics returns a job's metric points (training curves) in the order
// they were reported.
func (c *Client) Metrics(ctx context.Context, id string) ([]api.MetricPoint, error) {
	var out api.Metrics
	if err := c.do(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id)+"/metrics", nil, &out); err != nil {
		return nil, err
	}
	return out.Points, nil
}
