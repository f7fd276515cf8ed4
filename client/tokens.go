package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/myriadhq/myriad/api"
)

// CreateToken makes an API token (admin only); the answer carries its
// secret, the only time it is shown.
func (c *Client) CreateToken(ctx context.Context, role, name string) (*api.Token, error) {
	var out api.Token
	if err := c.do(ctx, http.MethodPost, "/v1/tokens", api.TokenRequest{Role: role, Name: name}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Tokens lists API tokens without their secrets (admin only).
func (c *Client) Tokens(ctx context.Context) ([]api.Token, error) {
	var out []api.Token
	return out, c.do(ctx, http.MethodGet, "/v1/tokens", nil, &out)
}

// RevokeToken revokes the token with the given id (admin only).
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/v1/tokens/"+url.PathEscape(id)+"/revoke", nil, nil)
}
