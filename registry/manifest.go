package registry

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strings"

	"github.com/canonical/docker-charmcraft/internal/mediatype"
	"github.com/opencontainers/go-digest"
)

// manifestAccept asks for a manifest of any of the Docker v2 and OCI
// manifest and index types.
var manifestAccept = strings.Join(mediatype.Manifests, ", ")

// maxManifestSize is the largest manifest read or pushed, as registries
// commonly refuse bigger ones.
const maxManifestSize = 4 << 20

var tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// ManifestExists says whether the repository holds the manifest d, of any
// of the Docker v2 and OCI manifest and index types.
func (c *Client) ManifestExists(ctx context.Context, d digest.Digest) (bool, error) {
	if err := d.Validate(); err != nil {
		return false, fmt.Errorf("invalid manifest digest %q: %w", d, err)
	}
	return c.exists(ctx, c.endpoint("manifests", d.String()), manifestAccept)
}

// PushManifest uploads body, a manifest of mediaType, by its digest, which
// it returns. No tag is set.
func (c *Client) PushManifest(ctx context.Context, mediaType string, body []byte) (digest.Digest, error) {
	d := digest.FromBytes(body)
	if err := c.putManifest(ctx, d.String(), d, mediaType, body); err != nil {
		return "", err
	}
	return d, nil
}

// TagManifest uploads body, a manifest of mediaType, under tag (which then
// names it, and no longer what it named before), and returns its digest.
// A registry that refuses tags answers with an *Error.
func (c *Client) TagManifest(ctx context.Context, tag, mediaType string, body []byte) (digest.Digest, error) {
	if !tagRE.MatchString(tag) {
		return "", fmt.Errorf("invalid manifest tag %q", tag)
	}
	d := digest.FromBytes(body)
	if err := c.putManifest(ctx, tag, d, mediaType, body); err != nil {
		return "", err
	}
	return d, nil
}

// putManifest uploads body, of digest d, as ref: d itself or a tag.
func (c *Client) putManifest(ctx context.Context, ref string, d digest.Digest, mediaType string, body []byte) error {
	if mediaType == "" {
		return fmt.Errorf("pushing a manifest: no media type")
	}
	if len(body) > maxManifestSize {
		return fmt.Errorf("pushing a manifest: %d bytes is over the 4 MiB limit", len(body))
	}
	req, err := c.newRequest(ctx, http.MethodPut, c.endpoint("manifests", ref), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mediaType)
	resp, err := c.do(req, http.StatusCreated)
	if err != nil {
		return fmt.Errorf("pushing the manifest: %w", err)
	}
	defer drainClose(resp)
	if err := checkDigestHeader(resp, d); err != nil {
		return fmt.Errorf("pushing manifest %s: %w", d, err)
	}
	return nil
}

// GetManifest reads the manifest ref, a digest or a tag, and its media
// type. A manifest read by digest is checked against it.
func (c *Client) GetManifest(ctx context.Context, ref string) (mediaType string, body []byte, err error) {
	var d digest.Digest
	if strings.Contains(ref, ":") {
		if d, err = digest.Parse(ref); err != nil {
			return "", nil, fmt.Errorf("invalid manifest digest %q: %w", ref, err)
		}
	} else if !tagRE.MatchString(ref) {
		return "", nil, fmt.Errorf("invalid manifest tag %q", ref)
	}
	req, err := c.newRequest(ctx, http.MethodGet, c.endpoint("manifests", ref), nil)
	if err != nil {
		return "", nil, err
	}
	req.Header.Set("Accept", manifestAccept)
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return "", nil, fmt.Errorf("getting the manifest: %w", err)
	}
	defer drainClose(resp)
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxManifestSize+1))
	if err != nil {
		return "", nil, fmt.Errorf("getting manifest %s: %w", ref, err)
	}
	if len(body) > maxManifestSize {
		return "", nil, fmt.Errorf("getting manifest %s: over the 4 MiB limit", ref)
	}
	if d != "" && d.Algorithm().FromBytes(body) != d {
		return "", nil, fmt.Errorf("getting manifest %s: %w", ref, ErrDigestMismatch)
	}
	mediaType = resp.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(mediaType); err == nil {
		mediaType = mt
	}
	return mediaType, body, nil
}
