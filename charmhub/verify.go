package charmhub

import (
	"context"
	"errors"
	"fmt"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// ErrContentMismatch means Charmhub holds, for a new revision, content
// whose size or sha256 differs from what was uploaded.
var ErrContentMismatch = errors.New("charmhub holds other content than was uploaded")

// remember keeps what an upload sent, for VerifyRevision.
func (c *Client) remember(uploadID string, sent sentContent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sent == nil {
		c.sent = map[string]sentContent{}
	}
	c.sent[uploadID] = sent
}

// VerifyRevision checks that revision of a resource holds what this
// client uploaded as uploadID: the size and the sha256 Charmhub lists for
// the revision must be those of the content as it was read and sent. It
// fails with ErrContentMismatch when they differ. What Charmhub does not
// report (a revision not listed yet, a size or digest left out) is not
// checked.
func (c *Client) VerifyRevision(ctx context.Context, charm, resource string, revision int, uploadID string) error {
	c.mu.Lock()
	sent, ok := c.sent[uploadID]
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("verifying revision %d of resource '%s': upload %q was not made by this client", revision, resource, uploadID)
	}
	revs, err := c.ListResourceRevisions(ctx, charm, resource)
	if err != nil {
		return fmt.Errorf("verifying revision %d: %w", revision, err)
	}
	for _, r := range revs {
		if r.Revision != revision {
			continue
		}
		if (r.Size != 0 && r.Size != sent.size) || (r.SHA256 != "" && r.SHA256 != sent.sha256) {
			return fmt.Errorf("%w: revision %d of resource '%s' of charm '%s' has %d bytes with sha256 %.64s, but the content uploaded had %d bytes with sha256 %s",
				ErrContentMismatch, revision, resource, charm, r.Size, transport.Printable(r.SHA256), sent.size, sent.sha256)
		}
		c.log.Printf("revision %d holds the %d bytes uploaded, sha256 %s", revision, sent.size, sent.sha256)
		return nil
	}
	c.log.Printf("charmhub lists no revision %d yet: its content was not checked", revision)
	return nil
}
