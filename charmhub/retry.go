package charmhub

import (
	"bytes"
	"crypto/tls"
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

// Caps on waits between two attempts.
const (
	maxBackoff    = 30 * time.Second
	maxRetryAfter = time.Minute
)

// retryTransport sends a request again after a temporary failure: a 429
// or 5xx answer or a connection error for idempotent requests, and only
// a failure to connect (nothing was sent) for the others.
type retryTransport struct {
	inner     http.RoundTripper
	attempts  int
	baseDelay time.Duration
	log       *debugLog
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 1; ; attempt++ {
		resp, err := t.inner.RoundTrip(req)
		if err == nil && replayable(req) {
			if err = buffer(resp); err != nil {
				resp = nil
			}
		}
		wait, reason, ok := t.retryAfter(req, resp, err, attempt)
		if !ok {
			transport.NoteAttempts(req.Context(), attempt)
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
			_ = resp.Body.Close()
		}
		t.log.printf("retrying %s %s after %s (%s), attempt %d of %d",
			req.Method, req.URL.Path, wait.Round(time.Millisecond), reason, attempt+1, t.attempts)
		if err := transport.Sleep(req.Context(), wait); err != nil {
			return nil, err
		}
		if req, err = rewind(req); err != nil {
			return nil, err
		}
	}
}

// retryAfter says whether to try again, after how long and why.
func (t *retryTransport) retryAfter(req *http.Request, resp *http.Response, err error, attempt int) (time.Duration, string, bool) {
	if attempt >= t.attempts || req.Context().Err() != nil || !rewindable(req) {
		return 0, "", false
	}
	if _, ok := errors.AsType[*localError](err); ok {
		return 0, "", false
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return 0, "", false // the same certificate comes back
	}
	replay := replayable(req)
	switch {
	case err != nil && (replay || dialError(err)):
		return t.backoff(attempt), err.Error(), true
	case err == nil && replay && retryableStatus(resp.StatusCode):
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After")); ok {
			return d, resp.Status, true
		}
		return t.backoff(attempt), resp.Status, true
	}
	return 0, "", false
}

// backoff doubles the base delay at each attempt; the wait is drawn
// between half and all of it so that clients do not retry in step.
func (t *retryTransport) backoff(attempt int) time.Duration {
	d := min(t.baseDelay<<(attempt-1), maxBackoff)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1) //nolint:gosec // jitter needs no secret randomness
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// parseRetryAfter reads seconds or an HTTP date, capped at maxRetryAfter.
func parseRetryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = time.Until(at)
	} else {
		return 0, false
	}
	return min(max(d, 0), maxRetryAfter), true
}

// replayable says whether req may be sent again in full.
func replayable(req *http.Request) bool {
	return req.Method == http.MethodGet || req.Method == http.MethodHead || transport.Replay(req.Context())
}

// buffer reads the start of an answer, all of it unless it is larger
// than a JSON answer may be, so that an answer cut short is a failure of
// the attempt, retried like a reset connection, rather than of the
// caller reading it.
func buffer(resp *http.Response) error {
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxJSON+1))
	if err != nil {
		_ = resp.Body.Close()
		return fmt.Errorf("reading the answer: %w", err)
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	return nil
}

// dialError reports a failure to connect: the request was not sent.
func dialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func rewindable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// rewind copies req with a fresh body.
func rewind(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return r, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r.Body = body
	return r, nil
}
