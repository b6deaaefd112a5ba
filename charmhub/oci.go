package charmhub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// maxImageBlob caps the blob answered for an image: a short JSON text.
const maxImageBlob = 64 << 10

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// RegistryCredentials open the registry repository of an image resource.
type RegistryCredentials struct {
	// ImageName is "<registry host>/charm/<charm id>/<resource>".
	ImageName string `json:"image-name"`
	Username  string `json:"username"`
	Password  string `json:"password"`
}

// String shows the credentials with the password redacted, so they can
// be printed by mistake without harm.
func (r RegistryCredentials) String() string {
	return fmt.Sprintf("{ImageName:%s Username:%s Password:REDACTED}", r.ImageName, r.Username)
}

// GoString is String, for %#v.
func (r RegistryCredentials) GoString() string { return r.String() }

// UploadCredentials returns credentials to push the image of an
// oci-image resource to Canonical's registry.
func (c *Client) UploadCredentials(ctx context.Context, charm, resource string) (*RegistryCredentials, error) {
	var creds RegistryCredentials
	err := c.get(ctx, charmPath(charm, "resources", resource, TypeOCIImage, "upload-credentials"), &creds)
	if err == nil && (creds.ImageName == "" || creds.Username == "") {
		err = errors.New("charmhub answered incomplete credentials")
	}
	if err != nil {
		return nil, fmt.Errorf("getting registry credentials for resource '%s' of charm '%s': %w", resource, charm, err)
	}
	return &creds, nil
}

// ImageBlob returns, unchanged, the blob that names an image pushed to
// the registry by its manifest digest ("sha256:" and 64 hex digits).
// Upload it as the content of an oci-image revision.
func (c *Client) ImageBlob(ctx context.Context, charm, resource, digest string) ([]byte, error) {
	blob, err := c.imageBlob(ctx, charmPath(charm, "resources", resource, TypeOCIImage, "blob"), digest)
	if err != nil {
		return nil, fmt.Errorf("getting the image blob for resource '%s' of charm '%s': %w", resource, charm, err)
	}
	return blob, nil
}

func (c *Client) imageBlob(ctx context.Context, path, digest string) ([]byte, error) {
	if !digestRE.MatchString(digest) {
		return nil, fmt.Errorf("digest %q is not sha256: and 64 hex digits", digest)
	}
	// The same digest gives the same image: asking again is harmless.
	req, err := c.newRequest(transport.WithReplay(ctx), http.MethodPost, c.apiURL+path, map[string]string{"image-digest": digest})
	if err != nil {
		return nil, err
	}
	return c.read(req, maxImageBlob)
}
