package charmhub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// imageDigestFetches is how many stored blobs ImageDigests reads at once.
const imageDigestFetches = 4

// ImageDigests returns the digest of the image each revision of an
// oci-image resource holds, by revision number. Charmhub's own listing
// gives the size and hashes of the JSON blob stored for an image, not
// the image; the digest is read from that blob, as charmhub.io does: the
// v2 listing names where each revision's content is downloaded from, and
// each blob names its image as host/path@digest. A revision whose blob
// cannot be read, or names no digest, is left out.
func (c *Client) ImageDigests(ctx context.Context, charm, resource string) (map[int]string, error) {
	var body struct {
		Revisions []struct {
			Revision int    `json:"revision"`
			Type     string `json:"type"`
			Download struct {
				URL string `json:"url"`
			} `json:"download"`
		} `json:"revisions"`
	}
	path := "/v2/charms/resources/" + url.PathEscape(charm) + "/" + url.PathEscape(resource) + "/revisions"
	if err := c.get(ctx, path, &body); err != nil {
		return nil, fmt.Errorf("listing the downloads of resource '%s' of charm '%s': %w", resource, charm, err)
	}
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		digests = map[int]string{}
		slots   = make(chan struct{}, imageDigestFetches)
	)
	for _, r := range body.Revisions {
		if r.Type != TypeOCIImage || r.Download.URL == "" {
			continue
		}
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			d, err := c.blobDigest(ctx, r.Download.URL)
			if err != nil {
				c.log.Printf("revision %d: %v", r.Revision, err)
				return
			}
			mu.Lock()
			digests[r.Revision] = d
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return digests, nil
}

// blobDigest downloads an image's stored blob and returns the digest of
// the image it names.
func (c *Client) blobDigest(ctx context.Context, ref string) (string, error) {
	u, err := c.resolve(ref)
	if err != nil {
		return "", err
	}
	req, err := c.newRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "*/*")
	data, err := c.read(req, maxImageBlob)
	if err != nil {
		return "", err
	}
	var blob struct {
		ImageName string
	}
	if err := json.Unmarshal(data, &blob); err != nil {
		return "", fmt.Errorf("the stored blob is not JSON: %w", err)
	}
	_, d, ok := strings.Cut(blob.ImageName, "@")
	if !ok || !digestRE.MatchString(d) {
		return "", fmt.Errorf("the stored blob names no image digest")
	}
	return d, nil
}
