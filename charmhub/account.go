package charmhub

import (
	"context"
	"fmt"
)

// Account is the Charmhub account the token belongs to.
type Account struct {
	DisplayName string `json:"display-name"`
	ID          string `json:"id"`
	Username    string `json:"username"`
}

// Package is a package a token is restricted to.
type Package struct {
	Type string `json:"type"`
	Name string `json:"name"`
	ID   string `json:"id"`
}

// Whoami describes a token: its account and what it may do.
type Whoami struct {
	Account Account `json:"account"`
	// Packages, Channels and Permissions restrict the token; nil
	// Packages or Channels mean no restriction.
	Packages    []Package `json:"packages"`
	Channels    []string  `json:"channels"`
	Permissions []string  `json:"permissions"`
}

// Whoami checks the token and describes it: a cheap call to make before
// moving bytes.
func (c *Client) Whoami(ctx context.Context) (*Whoami, error) {
	var w Whoami
	if err := c.get(ctx, "/v1/tokens/whoami", &w); err != nil {
		return nil, fmt.Errorf("checking Charmhub credentials: %w", err)
	}
	return &w, nil
}
