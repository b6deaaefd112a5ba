package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/canonical/docker-charmcraft/internal/transport"
	"github.com/opencontainers/go-digest"
)

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
