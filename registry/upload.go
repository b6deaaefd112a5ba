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

	"github.com/canonical/docker-charmcraft/internal/resumekey"
	"github.com/canonical/docker-charmcraft/internal/transport"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

const octetStream = "application/octet-stream"

// Descriptor names a blob pushed: PushBlobStream sets its Digest and Size.
// It is the OCI image-spec type, the one the dockersave package's BlobStore
// returns, so that a *Client is a BlobStore as it is.
type Descriptor = v1.Descriptor

// PushBlob uploads the size bytes of r as the blob d, hashing as it goes.
// Content that is not d's, or not size bytes long, fails with
// ErrDigestMismatch; its last bytes are never sent, and the registry,
// told d, would refuse it anyway.
//
// When r is also an io.Seeker (a file, a bytes.Reader), the blob goes in
// a single PUT, and an upload that fails for a reason that may pass (a
// reset or stalled connection, a 5xx or 429 answer) is resumed from the
// offset the registry says it holds if the session survived, else from
// the start in a new session. A plain reader is sent in chunks, as
// PushBlobStream sends it; it fails with ErrInterrupted only when the
// session is lost.
func (c *Client) PushBlob(ctx context.Context, r io.Reader, size int64, d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("invalid blob digest %q: %w", d, err)
	}
	if size < 0 {
		return fmt.Errorf("pushing blob %s: negative size %d", d, size)
	}
	rs, seekable := r.(io.ReadSeeker)
	start := seekStart(rs, seekable)
	var err error
	if seekable && start >= 0 {
		err = c.putResumed(ctx, rs, start, size, d)
	} else if err = c.pushChunked(ctx, newCheckedReader(r, size, d), d, c.blobKey(d)); isUpload(err, sessionLost) {
		err = &uploadError{kind: interrupted, err: err}
	}
	if err != nil {
		return fmt.Errorf("pushing blob %s: %w", d, err)
	}
	return nil
}

// PushBlobStream uploads r, whose digest and size are not known yet: it
// opens an upload session (which also gets the token), sends r in chunks
// while hashing it, then commits the upload with a body-less PUT naming
// the digest computed. One chunk at most is held in memory, until the
// registry acknowledges it; a chunk whose request fails for a reason
// that may pass is sent again, once the session says how much of it
// arrived. progress, if not nil, is called with the number of bytes read
// so far as they are read.
//
// Only a lost session (the registry forgot it, or holds less than it
// acknowledged) needs r from its start: when r is an io.Seeker the upload
// starts again in a new session (progress then starts again from zero);
// a plain reader cannot be read again, and the error matches
// ErrInterrupted, for the caller to try again with a fresh one.
func (c *Client) PushBlobStream(ctx context.Context, r io.Reader, progress func(int64)) (Descriptor, error) {
	seeker, restartable := r.(io.Seeker)
	start := seekStart(seeker, restartable)
	restartable = restartable && start >= 0
	tries := c.policy.Begin().At(c.base.Host)
	key := c.sessionKey(resumekey.From(ctx))
	for {
		body := newCheckedReader(r, -1, "")
		body.progress = progress
		err := c.pushChunked(ctx, body, "", key)
		if err == nil {
			return Descriptor{Digest: body.Digest(), Size: body.n}, nil
		}
		if !isUpload(err, sessionLost) {
			return Descriptor{}, fmt.Errorf("pushing a blob: %w", err)
		}
		if !restartable {
			return Descriptor{}, fmt.Errorf("pushing a blob: %w", &uploadError{kind: interrupted, err: err})
		}
		wait, ok := tries.Next(err, 0)
		if !ok {
			return Descriptor{}, fmt.Errorf("pushing a blob: %w%s", err, transport.AfterAttempts(tries.N()))
		}
		c.log.Printf("restarting the upload of a blob from its start in a new session (attempt %d%s): %v", tries.N()+1, tries.Of(), err)
		if err := tries.Wait(ctx, wait); err != nil {
			return Descriptor{}, err
		}
		if _, err := seeker.Seek(start, io.SeekStart); err != nil {
			return Descriptor{}, fmt.Errorf("pushing a blob: rewinding it: %w", err)
		}
	}
}

// pushChunked makes one upload of body, in chunks, and commits it as d,
// or as the digest of what body gave when d is "". The upload goes on
// from the session an earlier run saved under key, if the registry still
// holds it, else in a new session; key "" saves none. A resumed upload
// whose whole is not d (what the earlier run sent was other bytes) is a
// lost session: it is forgotten, and the registry, which checks the
// digest, has stored nothing.
func (c *Client) pushChunked(ctx context.Context, body *checkedReader, d digest.Digest, key string) error {
	s, err := c.openSession(ctx, key, body)
	if err != nil {
		return err
	}
	if err := s.sendAll(ctx, body, body.stop, c.chunkSize); err != nil {
		return err
	}
	if d == "" {
		d = body.Digest()
	}
	err = s.commit(ctx, d)
	switch {
	case err == nil:
		c.forgetSession(key)
	case s.resumed && errors.Is(err, ErrDigestMismatch):
		c.forgetSession(key)
		return &uploadError{kind: sessionLost, err: fmt.Errorf("what an earlier run sent in it is not this blob's start: %w", err)}
	}
	return err
}

// seekStart is where a seekable source starts, to go back to for another
// attempt; -1 if it cannot tell.
func seekStart(s io.Seeker, ok bool) int64 {
	if !ok {
		return -1
	}
	pos, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return -1
	}
	return pos
}

// resumable says whether an upload request that failed with err may be
// sent again, once the session says where it stands: a temporary failure
// (see transport.Policy.Temporary), a session that did not receive all
// that was sent, or one whose size is not the one the request started
// from (416: the registry got part of a request that broke).
func (c *Client) resumable(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, ErrDigestMismatch) {
		return false
	}
	if e, ok := errors.AsType[*Error](err); ok && e.StatusCode == http.StatusRequestedRangeNotSatisfiable {
		return true
	}
	return isUpload(err, incomplete) || c.policy.Temporary(err)
}

// startUpload opens an upload session and returns its location. A
// session that fails is left to the registry's purge of stale uploads:
// cancelling it would need a token with the delete action.
func (c *Client) startUpload(ctx context.Context) (*url.URL, error) {
	// Sent again after a failure: at worst the registry purges a session
	// never used.
	req, err := c.newRequest(transport.NoProgress(transport.WithReplay(ctx)), http.MethodPost, c.endpoint("blobs", "uploads", ""), nil)
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

// uploadStatus asks, once, how many bytes the session at loc holds, and
// returns its next location. "0-0" may mean none or one: it counts as
// none.
func (c *Client) uploadStatus(ctx context.Context, loc *url.URL) (*url.URL, int64, error) {
	req, err := c.newRequest(transport.NoProgress(transport.NoRetry(ctx)), http.MethodGet, loc, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.do(req, http.StatusNoContent, http.StatusOK)
	if err != nil {
		return nil, 0, err
	}
	defer drainClose(resp)
	next, err := location(resp)
	if err != nil {
		return nil, 0, err
	}
	end, ok := rangeEnd(resp.Header.Get("Range"))
	if !ok || end <= 0 {
		return next, 0, nil
	}
	return next, end + 1, nil
}

// rangeEnd reads a session's Range header, "0-<last byte>".
func rangeEnd(v string) (int64, bool) {
	first, last, ok := strings.Cut(strings.TrimPrefix(v, "bytes="), "-")
	start, err1 := strconv.ParseInt(first, 10, 64)
	end, err2 := strconv.ParseInt(last, 10, 64)
	if !ok || err1 != nil || err2 != nil || start != 0 {
		return 0, false
	}
	return end, true
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
	if resp.Request.URL.Scheme == "https" && u.Scheme != "https" {
		return nil, errors.New("the registry answered with an upload location over plain http: refusing to send the blob unencrypted")
	}
	return u, nil
}

// checkDigestHeader checks the Docker-Content-Digest of resp, if any, is d.
func checkDigestHeader(resp *http.Response, d digest.Digest) error {
	got := resp.Header.Get("Docker-Content-Digest")
	if got != "" && got != d.String() {
		return fmt.Errorf("%w: the registry stored %.80q, want %s", ErrDigestMismatch, got, d)
	}
	return nil
}

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
