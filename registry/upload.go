package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
)

const octetStream = "application/octet-stream"

// Descriptor names a blob pushed.
type Descriptor struct {
	Digest digest.Digest
	Size   int64
}

// PushBlob uploads the size bytes of r as the blob d: it opens an upload
// session (which also gets the token), then streams r in a single PUT that
// names d, hashing as it goes. Content that is not d's, or not size bytes
// long, fails with ErrDigestMismatch; its last bytes are never sent, and
// the registry, told d, would refuse it anyway.
func (c *Client) PushBlob(ctx context.Context, r io.Reader, size int64, d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("invalid blob digest %q: %w", d, err)
	}
	if size < 0 {
		return fmt.Errorf("pushing blob %s: negative size %d", d, size)
	}
	loc, err := c.startUpload(ctx)
	if err != nil {
		return fmt.Errorf("pushing blob %s: %w", d, err)
	}
	body := newCheckedReader(r, size, d)
	var send io.Reader = body
	if size == 0 {
		// An empty body goes as none: check r is empty all the same.
		_, err = io.Copy(io.Discard, body)
		send = http.NoBody
	}
	if err == nil {
		err = c.commit(ctx, loc, d, send, size)
	}
	if body.err != nil {
		err = body.err // what went wrong here explains best
	}
	if err != nil {
		return fmt.Errorf("pushing blob %s: %w", d, err)
	}
	return nil
}

// PushBlobStream uploads r, whose digest and size are not known yet: it
// opens an upload session (which also gets the token), streams r in one
// chunked PATCH while hashing it, then commits the upload with a body-less
// PUT naming the digest computed. Nothing the size of the blob is held in
// memory. progress, if not nil, is called with the number of bytes read so
// far as they are read.
func (c *Client) PushBlobStream(ctx context.Context, r io.Reader, progress func(int64)) (Descriptor, error) {
	loc, err := c.startUpload(ctx)
	if err != nil {
		return Descriptor{}, fmt.Errorf("pushing a blob: %w", err)
	}
	body := newCheckedReader(r, -1, "")
	body.progress = progress
	next, err := c.patch(ctx, loc, body)
	if body.err != nil {
		err = fmt.Errorf("reading the blob: %w", body.err)
	}
	desc := Descriptor{Digest: body.Digest(), Size: body.n}
	if err == nil {
		err = c.commit(ctx, next, desc.Digest, http.NoBody, 0)
	}
	if err != nil {
		return Descriptor{}, fmt.Errorf("pushing a blob: %w", err)
	}
	return desc, nil
}

// startUpload opens an upload session and returns its location. A
// session that fails is left to the registry's purge of stale uploads:
// cancelling it would need a token with the delete action.
func (c *Client) startUpload(ctx context.Context) (*url.URL, error) {
	req, err := c.newRequest(ctx, http.MethodPost, c.endpoint("blobs", "uploads", ""), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(req, http.StatusAccepted)
	if err != nil {
		return nil, err
	}
	defer drainClose(resp)
	return location(resp)
}

// patch streams body into the session at loc and returns the session's
// next location.
func (c *Client) patch(ctx context.Context, loc *url.URL, body *checkedReader) (*url.URL, error) {
	req, err := c.newRequest(ctx, http.MethodPatch, loc, body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = -1 // chunked
	req.Header.Set("Content-Type", octetStream)
	resp, err := c.do(req, http.StatusAccepted)
	if err != nil {
		return nil, err
	}
	defer drainClose(resp)
	if err := checkRange(resp.Header.Get("Range"), body.n); err != nil {
		return nil, err
	}
	return location(resp)
}

// commit ends the session at loc with a PUT naming d, carrying the size
// bytes of body, and checks the registry stored d.
func (c *Client) commit(ctx context.Context, loc *url.URL, d digest.Digest, body io.Reader, size int64) error {
	u := *loc
	q := "digest=" + url.QueryEscape(d.String())
	if u.RawQuery == "" {
		u.RawQuery = q
	} else {
		u.RawQuery += "&" + q
	}
	req, err := c.newRequest(ctx, http.MethodPut, &u, body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", octetStream)
	resp, err := c.do(req, http.StatusCreated)
	if err != nil {
		return err
	}
	defer drainClose(resp)
	return checkDigestHeader(resp, d)
}

// location is the upload location resp names, resolved against its
// request. Errors leave it out: its query holds the session state.
func location(resp *http.Response) (*url.URL, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, fmt.Errorf("the registry answered %s %s without an upload location", resp.Request.Method, resp.Request.URL.Path)
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, errors.New("the registry answered with a malformed upload location")
	}
	return u, nil
}

// checkRange checks a session's Range header ("0-<last byte>") says the
// registry holds the n bytes sent.
func checkRange(v string, n int64) error {
	if v == "" || n == 0 {
		return nil // nothing to check; "0-0" may mean nothing held
	}
	first, last, ok := strings.Cut(strings.TrimPrefix(v, "bytes="), "-")
	start, err1 := strconv.ParseInt(first, 10, 64)
	end, err2 := strconv.ParseInt(last, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return nil // not ours to judge
	}
	if start != 0 || end+1 != n {
		return fmt.Errorf("the registry holds bytes %d-%d of the %d sent", start, end, n)
	}
	return nil
}

// checkDigestHeader checks the Docker-Content-Digest of resp, if any, is d.
func checkDigestHeader(resp *http.Response, d digest.Digest) error {
	got := resp.Header.Get("Docker-Content-Digest")
	if got != "" && got != d.String() {
		return fmt.Errorf("%w: the registry stored %.80q, want %s", ErrDigestMismatch, got, d)
	}
	return nil
}
