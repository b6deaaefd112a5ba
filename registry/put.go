package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/canonical/docker-charmcraft/internal/transport"
	"github.com/opencontainers/go-digest"
)

// putResumed uploads the size bytes of r, from start on, as the blob d in
// a single PUT. After a failure that may pass it asks the session where
// it stands and goes on from there, or from the start in a new session
// when the session holds nothing or is lost. With sessions kept (see
// WithSessions), a session an earlier run left is resumed the same way;
// a blob smaller than a chunk is not worth saving a session for.
func (c *Client) putResumed(ctx context.Context, r io.ReadSeeker, start, size int64, d digest.Digest) error {
	key := ""
	if size >= int64(c.chunkSize) {
		key = c.blobKey(d)
	}
	loc, offset, err := c.openPut(ctx, key, size)
	if err != nil {
		return err
	}
	tries := c.policy.Begin().At(c.base.Host)
	for {
		if err = c.putBlob(ctx, loc, r, offset, size, d); err == nil {
			c.forgetSession(key)
			return nil
		}
		if !c.resumable(ctx, err) {
			return err
		}
		if loc, offset, err = c.resumePoint(ctx, tries, loc, size, err); err != nil {
			return err
		}
		c.saveSession(key, loc, offset)
		if _, err = r.Seek(start, io.SeekStart); err != nil {
			return fmt.Errorf("rewinding the blob: %w", err)
		}
	}
}

// putBlob ends the session at loc with a PUT of r's bytes from offset on,
// which the session lacks, hashing the bytes before offset again to check
// the whole is d. Its retries are the caller's.
func (c *Client) putBlob(ctx context.Context, loc *url.URL, r io.Reader, offset, size int64, d digest.Digest) error {
	body := newCheckedReader(r, size, d)
	defer body.stop()
	if _, err := io.CopyN(io.Discard, body, offset); err != nil {
		return fmt.Errorf("reading the blob again: %w", err)
	}
	var send io.Reader = body
	var err error
	if offset == size {
		// An empty body goes as none: check r has no more all the same.
		_, err = io.Copy(io.Discard, body)
		send = http.NoBody
	}
	if err == nil {
		err = c.commit(transport.NoRetry(ctx), loc, d, send, size-offset)
	}
	body.stop()
	if body.err != nil {
		return body.err // what went wrong here explains best
	}
	if e, ok := errors.AsType[*Error](err); ok && e.hasCode("DIGEST_INVALID", "SIZE_INVALID") {
		// Every byte read so far was d's, and the registry cannot have
		// judged before it had the whole: what it got was damaged or cut
		// short on the way, and may arrive whole next time.
		return &uploadError{kind: incomplete, err: err}
	}
	return err
}

// resumePoint finds where to go on with an upload that failed: the
// session at loc, from the offset it holds, if it survived with some of
// the blob; else a new session from the start.
func (c *Client) resumePoint(ctx context.Context, tries *transport.Tries, loc *url.URL, size int64, failed error) (*url.URL, int64, error) {
	s := &session{c: c, loc: loc}
	err := s.recover(ctx, tries, failed)
	if err == nil && s.offset > 0 && s.offset <= size {
		c.log.Printf("resuming the upload at byte %d of %d", s.offset, size)
		return s.loc, s.offset, nil
	}
	if err != nil && !isUpload(err, sessionLost) {
		return nil, 0, err
	}
	c.log.Printf("restarting the upload in a new session")
	next, err := c.startUpload(ctx)
	return next, 0, err
}
