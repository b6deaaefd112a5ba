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

	"github.com/canonical/docker-charmcraft/internal/transport"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

const octetStream = "application/octet-stream"

// Descriptor names a blob pushed: PushBlobStream sets its Digest and Size.
// It is the OCI image-spec type, the one the manifest package's BlobStore
// returns, so that a *Client is a BlobStore as it is.
type Descriptor = v1.Descriptor

// PushBlob uploads the size bytes of r as the blob d: it opens an upload
// session (which also gets the token), then streams r in a single PUT that
// names d, hashing as it goes. Content that is not d's, or not size bytes
// long, fails with ErrDigestMismatch; its last bytes are never sent, and
// the registry, told d, would refuse it anyway.
//
// When r is also an io.Seeker (a file, a bytes.Reader), an upload that
// fails for a reason that may pass (a reset or stalled connection, a 5xx
// or 429 answer) is resumed, as many times as the client retries a
// request: from the offset the registry says it holds if the session
// survived, else from the start in a new session. A plain reader cannot
// be read again: such a failure then matches ErrInterrupted, and the
// caller may try again with a fresh one.
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
	rs, resumable := r.(io.ReadSeeker)
	start := seekStart(rs, resumable)
	resumable = resumable && start >= 0
	var offset int64
	attempt := 1
	for ; ; attempt++ {
		if err = c.putBlob(ctx, loc, r, offset, size, d); err == nil {
			return nil
		}
		if !resumable || !c.worthAnother(ctx, err, attempt) {
			break
		}
		if loc, offset, err = c.resumePoint(ctx, loc, size, attempt); err != nil {
			break
		}
		if _, err = rs.Seek(start, io.SeekStart); err != nil {
			err = fmt.Errorf("rewinding the blob: %w", err)
			break
		}
	}
	if !resumable && temporaryFailure(ctx, err) {
		err = &interruptedError{err}
	}
	return fmt.Errorf("pushing blob %s: %w%s", d, err, transport.AfterAttempts(attempt))
}

// putBlob ends the session at loc with a PUT of r's bytes from offset on,
// which the session lacks, hashing the bytes before offset again to check
// the whole is d.
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
		err = c.commit(ctx, loc, d, send, size-offset)
	}
	body.stop()
	if body.err != nil {
		return body.err // what went wrong here explains best
	}
	if e, ok := errors.AsType[*Error](err); ok && e.hasCode("DIGEST_INVALID", "SIZE_INVALID") {
		// Every byte read so far was d's, and the registry cannot have
		// judged before it had the whole: what it got was damaged or cut
		// short on the way, and may arrive whole next time.
		return fmt.Errorf("%w (%v)", errIncomplete, err) //nolint:errorlint // not ErrDigestMismatch: the content was right
	}
	return err
}

// resumePoint finds where to go on with an upload that failed: the
// session at loc, from the offset it holds, if it survived with some of
// the blob; else a new session from the start.
func (c *Client) resumePoint(ctx context.Context, loc *url.URL, size int64, attempt int) (*url.URL, int64, error) {
	if err := transport.Sleep(ctx, c.retry.backoff(attempt)); err != nil {
		return nil, 0, err
	}
	next, held, err := c.uploadStatus(ctx, loc)
	if err == nil && held > 0 && held <= size {
		c.retry.log.printf("resuming the upload at byte %d of %d (attempt %d of %d)", held, size, attempt+1, c.retry.attempts)
		return next, held, nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, 0, err
	}
	c.retry.log.printf("restarting the upload in a new session (attempt %d of %d)", attempt+1, c.retry.attempts)
	next, err = c.startUpload(ctx)
	return next, 0, err
}

// uploadStatus asks how many bytes the session at loc holds, and returns
// its next location. "0-0" may mean none or one: it counts as none.
func (c *Client) uploadStatus(ctx context.Context, loc *url.URL) (*url.URL, int64, error) {
	req, err := c.newRequest(ctx, http.MethodGet, loc, nil)
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
	first, last, ok := strings.Cut(strings.TrimPrefix(resp.Header.Get("Range"), "bytes="), "-")
	start, err1 := strconv.ParseInt(first, 10, 64)
	end, err2 := strconv.ParseInt(last, 10, 64)
	if !ok || err1 != nil || err2 != nil || start != 0 || end <= 0 {
		return next, 0, nil
	}
	return next, end + 1, nil
}

// PushBlobStream uploads r, whose digest and size are not known yet: it
// opens an upload session (which also gets the token), streams r in one
// chunked PATCH while hashing it, then commits the upload with a body-less
// PUT naming the digest computed. Nothing the size of the blob is held in
// memory. progress, if not nil, is called with the number of bytes read so
// far as they are read.
//
// When r is also an io.Seeker, an upload that fails for a reason that may
// pass starts again from the start of r in a new session, as many times as
// the client retries a request (progress then starts again from zero). A
// plain reader cannot be read again: such a failure then matches
// ErrInterrupted, and the caller may try again with a fresh one.
func (c *Client) PushBlobStream(ctx context.Context, r io.Reader, progress func(int64)) (Descriptor, error) {
	seeker, restartable := r.(io.Seeker)
	start := seekStart(seeker, restartable)
	restartable = restartable && start >= 0
	attempt := 1
	for ; ; attempt++ {
		desc, sent, err := c.pushStream(ctx, r, progress)
		if err == nil {
			return desc, nil
		}
		retry := restartable && c.worthAnother(ctx, err, attempt)
		if retry {
			c.retry.log.printf("restarting the upload of a blob from its start (attempt %d of %d): %v", attempt+1, c.retry.attempts, err)
			if err = transport.Sleep(ctx, c.retry.backoff(attempt)); err == nil {
				_, err = seeker.Seek(start, io.SeekStart)
			}
		}
		if !retry || err != nil {
			if sent && !restartable && temporaryFailure(ctx, err) {
				err = &interruptedError{err}
			}
			return Descriptor{}, fmt.Errorf("pushing a blob: %w%s", err, transport.AfterAttempts(attempt))
		}
	}
}

// pushStream makes one attempt at PushBlobStream; sent says whether r was
// read.
func (c *Client) pushStream(ctx context.Context, r io.Reader, progress func(int64)) (Descriptor, bool, error) {
	loc, err := c.startUpload(ctx)
	if err != nil {
		return Descriptor{}, false, err
	}
	body := newCheckedReader(r, -1, "")
	body.progress = progress
	next, err := c.patch(ctx, loc, body)
	body.stop()
	if body.err != nil {
		return Descriptor{}, true, fmt.Errorf("reading the blob: %w", body.err)
	}
	desc := Descriptor{Digest: body.Digest(), Size: body.n}
	if err == nil {
		err = c.commit(ctx, next, desc.Digest, http.NoBody, 0)
	}
	if err != nil {
		return Descriptor{}, true, err
	}
	return desc, true, nil
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

// ErrInterrupted means a blob upload failed midway, for a reason that may
// pass, and its content, read from a plain reader, could not be sent
// again. Trying again with a fresh reader may succeed.
var ErrInterrupted = errors.New("the blob upload was interrupted and its content cannot be read again")

type interruptedError struct{ err error }

func (e *interruptedError) Error() string {
	return e.err.Error() + " (the blob was streamed and cannot be sent again)"
}
func (e *interruptedError) Unwrap() error        { return e.err }
func (e *interruptedError) Is(target error) bool { return target == ErrInterrupted }

// worthAnother says whether a failed upload may be tried again.
func (c *Client) worthAnother(ctx context.Context, err error, attempt int) bool {
	return attempt < c.retry.attempts && temporaryFailure(ctx, err)
}

// temporaryFailure says whether err may pass on another attempt: a
// connection reset or stalled, an answer cut short, a 429 or a 5xx (but 501), a session
// that did not receive all that was sent, or one whose size moved since
// it was asked (416: the registry was still writing what an interrupted
// request brought).
func temporaryFailure(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil || errors.Is(err, ErrDigestMismatch) {
		return false
	}
	if se, ok := errors.AsType[*sendError](err); ok {
		// Only a connection that broke or stalled: bad credentials, a
		// refused redirect or a certificate error will not pass by trying
		// again.
		return temporary(se.err)
	}
	if e, ok := errors.AsType[*Error](err); ok {
		switch {
		case e.StatusCode == http.StatusTooManyRequests, e.StatusCode == http.StatusRequestedRangeNotSatisfiable:
			return true
		}
		return e.StatusCode >= 500 && e.StatusCode != http.StatusNotImplemented
	}
	return errors.Is(err, errIncomplete)
}

// startUpload opens an upload session and returns its location. A
// session that fails is left to the registry's purge of stale uploads:
// cancelling it would need a token with the delete action.
func (c *Client) startUpload(ctx context.Context) (*url.URL, error) {
	// Sent again after a failure: at worst the registry purges a session
	// never used.
	req, err := c.newRequest(transport.WithReplay(ctx), http.MethodPost, c.endpoint("blobs", "uploads", ""), nil)
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
	// A registry (or a proxy) may answer before it has read all: then
	// what was read is what counts.
	body.stop()
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
	if resp.Request.URL.Scheme == "https" && u.Scheme != "https" {
		return nil, errors.New("the registry answered with an upload location over plain http: refusing to send the blob unencrypted")
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
		return fmt.Errorf("%w: the registry holds bytes %d-%d of the %d sent", errIncomplete, start, end, n)
	}
	return nil
}

// errIncomplete means the registry did not receive all that was sent.
var errIncomplete = errors.New("the upload arrived incomplete")

// checkDigestHeader checks the Docker-Content-Digest of resp, if any, is d.
func checkDigestHeader(resp *http.Response, d digest.Digest) error {
	got := resp.Header.Get("Docker-Content-Digest")
	if got != "" && got != d.String() {
		return fmt.Errorf("%w: the registry stored %.80q, want %s", ErrDigestMismatch, got, d)
	}
	return nil
}
