package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// Stack wraps inner in the layers every client of the plugin sends
// through, outermost first: the retries of p, the debug log (so that it
// shows every attempt), the User-Agent, the bound on the headers of each
// answer (p.AnswerWithin). What a client retries itself (see NoRetry) it
// paces with the same policy.
func Stack(inner http.RoundTripper, p Policy, userAgent string, log *Log) http.RoundTripper {
	if inner == nil {
		inner = http.DefaultTransport
	}
	p = p.withDefaults().WithRun()
	var rt http.RoundTripper = &headersTransport{inner: inner, within: p.AnswerWithin}
	rt = &userAgentTransport{inner: rt, ua: userAgent}
	if log != nil {
		rt = &debugTransport{inner: rt, log: log}
	}
	return &retryTransport{inner: rt, p: p, log: log}
}

// noRetryKey marks a request whose retries its caller owns.
type noRetryKey struct{}

// noProgressKey marks a request whose answer is not progress.
type noProgressKey struct{}

// NoProgress marks the requests made with ctx as questions about work
// under way (where does an upload stand? a new session to send it in):
// their answers say the service answers, not that the work moves on, so
// they do not extend the retries' budget (see Run). An operation that
// learns it moved on says so with Tries.Progressed.
func NoProgress(ctx context.Context) context.Context {
	return context.WithValue(ctx, noProgressKey{}, true)
}

// NoRetry marks the requests made with ctx as retried by the caller, who
// knows better (an upload asks where its session stands first): the
// retry layer sends them once. go-containerregistry calls this
// retry.Never.
func NoRetry(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRetryKey{}, true)
}

// retryTransport sends a request again after a temporary failure, as its
// policy says: a request that may be sent again in full (GET, HEAD, PUT,
// DELETE, or one marked WithReplay) after a status the policy retries or
// a temporary error; any other only after a failure to connect, which
// means it was never sent. The attempts made are noted for the error
// (see CountAttempts).
type retryTransport struct {
	inner http.RoundTripper
	p     Policy
	log   *Log
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	host := req.URL.Host
	if ctx.Value(noRetryKey{}) != nil {
		NoteAttempts(ctx, 1)
		resp, err := t.inner.RoundTrip(req)
		t.heard(req, resp)
		return resp, t.failure(host, err)
	}
	tries := t.p.Begin().At(host)
	// sent is the furthest any attempt got into the body: only bytes past
	// it are progress, so that a server that breaks every upload at the
	// same point is not waited on for ever.
	var sent atomic.Int64
	for {
		resp, err := t.inner.RoundTrip(counted(req, t.p.Run, &sent))
		if err == nil && t.p.BufferAnswer > 0 && resendable(req) {
			if err = buffer(resp, t.p.BufferAnswer, t.p.AnswerWithin); err != nil {
				resp = nil
			}
		}
		t.heard(req, resp)
		after, retry, failed := t.verdict(req, resp, err)
		var wait time.Duration
		if retry {
			wait, retry = tries.Next(failed, after)
		}
		if !retry {
			NoteAttempts(ctx, tries.N())
			return resp, t.failure(host, err)
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
		}
		t.log.Printf("retrying %s %s after %s (%v), attempt %d%s", req.Method, req.URL.EscapedPath(),
			wait.Round(time.Millisecond), failed, tries.N()+1, tries.Of())
		if err := tries.Wait(ctx, wait); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				// A deadline the caller set ended the wait: what failed
				// explains more than the deadline does.
				return nil, fmt.Errorf("%w (%w)", t.failure(host, failed), context.Cause(ctx))
			}
			return nil, err
		}
		if req, err = rewind(req); err != nil {
			return nil, err
		}
	}
}

// failure names the service at host in err, if not nil and not a
// cancellation.
func (t *retryTransport) failure(host string, err error) error {
	if _, local := errors.AsType[*localError](err); local || err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	return &Failure{Service: t.p.Run.ServiceName(host), Host: host, Err: err}
}

// heard records in the run that req's host answered resp (if not nil):
// as progress unless the answer is one the policy retries, or req was
// marked NoProgress.
func (t *retryTransport) heard(req *http.Request, resp *http.Response) {
	switch {
	case resp == nil:
	case t.p.RetryStatus(resp.StatusCode):
		t.p.Run.heard(req.URL.Host)
	case req.Context().Value(noProgressKey{}) != nil:
		t.p.Run.replied(req.URL.Host)
	default:
		t.p.Run.Progress(req.URL.Host)
	}
}

// verdict says whether an attempt that ended in resp or err is worth
// another, after how long the server asked for it (0 if it did not say),
// and why (an error; a StatusError for an answer).
func (t *retryTransport) verdict(req *http.Request, resp *http.Response, err error) (time.Duration, bool, error) {
	if req.Context().Err() != nil || !Rewindable(req) {
		return 0, false, err
	}
	if err != nil {
		return 0, t.p.Temporary(err) && (resendable(req) || NotSent(err)), err
	}
	if !resendable(req) || !t.p.RetryStatus(resp.StatusCode) {
		return 0, false, nil
	}
	return RetryAfter(resp.Header.Get("Retry-After"), t.p.Clock.Now()), true, statusError{resp}
}

// counted returns req with a body that records in run each read that
// takes it past furthest, the furthest an attempt got: a long upload is
// progress, so that one that breaks is sent again.
func counted(req *http.Request, run *Run, furthest *atomic.Int64) *http.Request {
	if run == nil || req.Body == nil || req.Body == http.NoBody {
		return req
	}
	r := req.WithContext(req.Context())
	r.Body = &countedBody{ReadCloser: req.Body, run: run, furthest: furthest}
	return r
}

type countedBody struct {
	io.ReadCloser
	run      *Run
	n        int64
	furthest *atomic.Int64
	ahead    bool // past where the attempts before got, by progressSlack
}

// progressSlack is how much further than the attempts before an attempt
// must read a body for its bytes to count as progress: what was read is
// not what arrived, socket buffers holding megabytes, so that a server
// that breaks every upload at the same point looks at first like one
// that lets each attempt go a little further.
const progressSlack = 16 << 20

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	f := b.furthest.Load()
	if !b.ahead && (f == 0 || b.n > f+progressSlack) {
		b.ahead = true
	}
	if b.ahead && b.n > f && b.furthest.CompareAndSwap(f, b.n) {
		b.run.sent()
	}
	return n, err
}

// resendable says whether req may be sent again in full once it may
// have reached the server.
func resendable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return Replay(req.Context())
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

// buffer reads the start of an answer, all of it unless it is longer
// than limit, so that an answer cut short fails the attempt rather than
// the caller reading it.
func buffer(resp *http.Response, limit int64, within time.Duration) error {
	head, err := ReadAllWithin(resp.Body, limit, within)
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
