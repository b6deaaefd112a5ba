package registry

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// maxRetryAfter is the longest Retry-After waited for; a registry asking
// for more gets its answer passed on.
const maxRetryAfter = time.Minute

// maxBackoff caps the doubling backoff.
const maxBackoff = 30 * time.Second

// retryTransport tries again requests that failed in a way that may pass:
// a 429 or 5xx answer, a reset connection, a timeout.
type retryTransport struct {
	inner    http.RoundTripper
	attempts int
	base     time.Duration
	log      *logger
}

func (t *retryTransport) RoundTrip(in *http.Request) (*http.Response, error) {
	if t.attempts <= 1 || !idempotent(in) {
		transport.NoteAttempts(in.Context(), 1)
		return t.inner.RoundTrip(in)
	}
	ctx := in.Context()
	for attempt := 1; ; attempt++ {
		transport.NoteAttempts(ctx, attempt)
		req := in
		if attempt > 1 && in.GetBody != nil {
			body, err := in.GetBody()
			if err != nil {
				return nil, err
			}
			req = in.Clone(ctx)
			req.Body = body
		}
		resp, err := t.inner.RoundTrip(req)
		if attempt >= t.attempts || ctx.Err() != nil {
			return resp, err
		}
		why, wait, ok := t.retryable(attempt, resp, err)
		if !ok {
			return resp, err
		}
		if resp != nil {
			drainClose(resp)
		}
		t.log.printf("retrying %s %s in %s (attempt %d of %d): %s",
			in.Method, where(in.URL), wait.Round(time.Millisecond), attempt+1, t.attempts, why)
		if err := transport.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// retryable says why the outcome of an attempt is worth another, and
// after how long.
func (t *retryTransport) retryable(attempt int, resp *http.Response, err error) (string, time.Duration, bool) {
	wait := t.backoff(attempt)
	if err != nil {
		return err.Error(), wait, temporary(err)
	}
	code := resp.StatusCode
	if code != http.StatusTooManyRequests && (code < 500 || code == http.StatusNotImplemented) {
		return "", 0, false
	}
	why := fmt.Sprintf("%d %s", code, http.StatusText(code))
	if after, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		if after > maxRetryAfter {
			return "", 0, false
		}
		wait = max(wait, after)
	}
	return why, wait, true
}

// backoff is base doubled for each attempt so far, plus up to half again.
func (t *retryTransport) backoff(attempt int) time.Duration {
	d := t.base
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	if d > 0 {
		d += rand.N(d/2 + 1) //nolint:gosec // jitter needs no secret randomness
	}
	return d
}

// idempotent says whether a request can be sent again whole.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return replayable(req)
	}
	return transport.Replay(req.Context()) && replayable(req)
}

// replayable says whether a request's body can be had again.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// temporary says whether a transport error may pass on a new attempt.
func temporary(err error) bool {
	if transport.ConnectionBroken(err) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// retryAfter parses a Retry-After value: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(min(s, 1<<30)) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
