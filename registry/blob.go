package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/opencontainers/go-digest"
)

// BlobExists says whether the repository holds the blob d.
func (c *Client) BlobExists(ctx context.Context, d digest.Digest) (bool, error) {
	if err := d.Validate(); err != nil {
		return false, fmt.Errorf("invalid blob digest %q: %w", d, err)
	}
	return c.exists(ctx, c.endpoint("blobs", d.String()), "")
}

// GetBlob opens the blob d. Reading it to the end fails with
// ErrDigestMismatch if the content is not d's.
func (c *Client) GetBlob(ctx context.Context, d digest.Digest) (io.ReadCloser, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("invalid blob digest %q: %w", d, err)
	}
	req, err := c.newRequest(ctx, http.MethodGet, c.endpoint("blobs", d.String()), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(req, http.StatusOK) //nolint:bodyclose // closed by the caller, through the ReadCloser returned
	if err != nil {
		return nil, err
	}
	return checkedBody{newCheckedReader(resp.Body, resp.ContentLength, d), resp.Body}, nil
}

// exists sends a HEAD to u: 200 is yes, 404 no.
func (c *Client) exists(ctx context.Context, u *url.URL, accept string) (bool, error) {
	req, err := c.newRequest(ctx, http.MethodHead, u, nil)
	if err != nil {
		return false, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.do(req, http.StatusOK, http.StatusNotFound)
	if err != nil {
		return false, err
	}
	defer drainClose(resp)
	return resp.StatusCode == http.StatusOK, nil
}
