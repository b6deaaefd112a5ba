package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

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

// session is an upload session and what the registry acknowledged of it.
type session struct {
	c      *Client
	loc    *url.URL // as the registry last answered it
	offset int64    // bytes the registry acknowledged
	// resumed: an earlier run sent the bytes before offset.
	resumed bool
	// acked, if not nil, is told of each chunk the registry acknowledges.
	acked func()
}

// sendAll sends what src gives, in chunks of size, until src is at its
// end. Each chunk stays in memory until the registry acknowledges it,
// while the next one is read (so that reading and sending overlap): two
// chunks at most are held. stop ends the reading of src, and returns
// once no read is under way: the caller may read what src left (its
// hash, its end) as soon as sendAll returns. A read blocked on a stream
// that stopped sending (docker save, through the compressor) holds it
// until that stream fails: the daemon's stall timeout and ctx bound it.
func (s *session) sendAll(ctx context.Context, src io.Reader, stop func(), size int) error {
	type chunk struct {
		b   []byte
		err error
	}
	free := make(chan []byte, 2)
	free <- make([]byte, size)
	free <- make([]byte, size)
	full := make(chan chunk, 1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			var b []byte
			select {
			case b = <-free:
			case <-done:
				return
			}
			n, err := fill(src, b)
			select {
			case full <- chunk{b[:n], err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	})
	defer func() {
		close(done)
		stop()
		wg.Wait()
	}()
	for c := range full {
		if len(c.b) > 0 {
			if err := s.sendChunk(ctx, c.b); err != nil {
				return err
			}
		}
		switch {
		case errors.Is(c.err, io.EOF):
			return nil
		case c.err != nil:
			return fmt.Errorf("reading the blob: %w", c.err)
		}
		free <- c.b[:cap(c.b)]
	}
	return nil
}

// fill reads from r until buf is full or r fails (io.EOF at its end).
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// sendChunk sends chunk, the bytes of the session from s.offset on. A
// request that fails for a reason that may pass is followed, after a
// wait the client's policy sets, by a question to the session (where
// does it stand?), and the part of the chunk it lacks is sent again.
func (s *session) sendChunk(ctx context.Context, chunk []byte) error {
	tries := s.c.policy.Begin().At(s.c.base.Host)
	end := s.offset + int64(len(chunk))
	for {
		err := s.patch(ctx, chunk[len(chunk)-int(end-s.offset):])
		switch {
		case err == nil:
			return nil
		case sessionGone(err):
			return &uploadError{kind: sessionLost, err: err}
		case !s.c.resumable(ctx, err):
			return err
		}
		if err := s.recover(ctx, tries, err); err != nil {
			return err
		}
		if s.offset > end {
			return &uploadError{kind: sessionLost, err: fmt.Errorf("it holds %d bytes, more than the %d sent", s.offset, end)}
		}
		if s.offset == end {
			return nil // the chunk arrived, its answer did not
		}
	}
}

// recover waits as tries says after failed, then asks the session where
// it stands, until it answers; s then holds its location and offset.
func (s *session) recover(ctx context.Context, tries *transport.Tries, failed error) error {
	for {
		wait, ok := tries.Next(failed, retryAfter(failed))
		if !ok {
			return fmt.Errorf("%w%s", failed, transport.AfterAttempts(tries.N()))
		}
		s.c.log.Printf("asking the upload session where it stands after %s (%v), attempt %d%s",
			wait.Round(time.Millisecond), failed, tries.N()+1, tries.Of())
		if err := tries.Wait(ctx, wait); err != nil {
			return err
		}
		next, held, err := s.c.uploadStatus(ctx, s.loc)
		switch {
		case err == nil && held < s.offset:
			return &uploadError{kind: sessionLost, err: fmt.Errorf("it holds %d bytes, fewer than the %d it acknowledged", held, s.offset)}
		case err == nil:
			if held > s.offset {
				s.c.log.Printf("the session holds %d bytes: going on from there", held)
				tries.Progressed()
			}
			s.loc, s.offset = next, held
			return nil
		case sessionGone(err):
			return &uploadError{kind: sessionLost, err: err}
		case !s.c.resumable(ctx, err):
			return err
		}
		failed = err
	}
}

// retryAfter is the wait a registry asked for with its error, if any.
func retryAfter(err error) time.Duration {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.RetryAfter
	}
	return 0
}

// sessionGone says whether err is the registry's answer that it no longer
// knows an upload session: 404, or distribution 2's BLOB_UPLOAD_INVALID
// (it cancels a session asked about with a state older than what it
// holds, as when the answer to a chunk that arrived was lost).
func sessionGone(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && (e.StatusCode == http.StatusNotFound || e.hasCode("BLOB_UPLOAD_UNKNOWN", "BLOB_UPLOAD_INVALID"))
}

// finishChunkWithin is how long a chunk under way when its run is
// cancelled (Ctrl-C) may take to arrive: a Ctrl-C stays quick.
const finishChunkWithin = time.Second

// patch sends part, the bytes of the session from s.offset on, in one
// PATCH whose retries are the caller's, and checks the registry holds
// them all. Once ctx is cancelled no PATCH starts, but one under way is
// given finishChunkWithin to end, so that the session an interrupted run
// leaves holds what it acknowledged: distribution 2.8 cancels a session
// asked about with an older state than what it holds, which a chunk cut
// midway leaves, and the next run could not resume it.
func (s *session) patch(ctx context.Context, part []byte) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	pctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	defer context.AfterFunc(ctx, func() {
		time.AfterFunc(finishChunkWithin, func() { cancel(context.Cause(ctx)) })
	})()
	body := &chunkBody{r: bytes.NewReader(part)}
	req, err := s.c.newRequest(transport.NoRetry(pctx), http.MethodPatch, s.loc, body)
	if err != nil {
		return err
	}
	// A 401 is answered by the auth layer sending the chunk again.
	req.GetBody = func() (io.ReadCloser, error) {
		body.stop()
		body = &chunkBody{r: bytes.NewReader(part)}
		return body, nil
	}
	req.ContentLength = int64(len(part))
	req.Header.Set("Content-Type", octetStream)
	req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", s.offset, s.offset+int64(len(part))-1))
	resp, err := s.c.do(req, http.StatusAccepted, http.StatusNoContent)
	// The transport may read a body after an early answer: part must be
	// left alone once this returns.
	body.stop()
	if e, ok := errors.AsType[*Error](err); ok && e.hasCode("DIGEST_INVALID", "SIZE_INVALID") {
		// part is right: it was damaged or cut short on the way.
		return &uploadError{kind: incomplete, err: err}
	}
	if err != nil {
		return err
	}
	defer drainClose(resp)
	next, err := location(resp)
	if err != nil {
		return err
	}
	want := s.offset + int64(len(part))
	if end, ok := rangeEnd(resp.Header.Get("Range")); ok && end+1 != want {
		return &uploadError{kind: incomplete, err: fmt.Errorf("the registry holds bytes 0-%d of the %d sent", end, want)}
	}
	s.loc, s.offset = next, want
	if s.acked != nil {
		s.acked()
	}
	return nil
}

// commit ends the session with a body-less PUT naming d, and checks the
// registry stored d. A PUT whose answer was lost leaves no session to
// retry it on: the blob is then there.
func (s *session) commit(ctx context.Context, d digest.Digest) error {
	err := s.c.commit(ctx, s.loc, d, http.NoBody, 0)
	if errors.Is(err, ErrNotFound) {
		if ok, _ := s.c.BlobExists(ctx, d); ok {
			return nil
		}
	}
	return err
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

// chunkBody is the body of a PATCH, which the transport may still read
// after the request is over: stop ends that.
type chunkBody struct {
	mu      sync.Mutex
	r       io.Reader
	stopped bool
}

func (b *chunkBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return 0, errStopped
	}
	return b.r.Read(p)
}

func (b *chunkBody) Close() error { return nil }

func (b *chunkBody) stop() {
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
}
