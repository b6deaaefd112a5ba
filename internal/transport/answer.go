package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync/atomic"
	"time"
)

// headersTransport bounds the arrival of an answer's headers once their
// first byte came: a server that sends them a byte at a time, each in
// time to beat the stall timeout, fails the attempt with a *SlowError.
// The wait for that first byte is the stall timeout's (a registry may
// think long before it answers the commit of a large upload).
type headersTransport struct {
	inner  http.RoundTripper
	within time.Duration
}

func (t *headersTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	var timer atomic.Pointer[time.Timer]
	slow := &SlowError{Within: t.within, What: "headers"}
	trace := &httptrace.ClientTrace{
		GotFirstResponseByte: func() {
			timer.Store(time.AfterFunc(t.within, func() { cancel(slow) }))
		},
		// After a 1xx (100 Continue) the body is sent, which takes its
		// time, before the final headers: no bound then.
		Got1xxResponse: func(int, textproto.MIMEHeader) error {
			if tm := timer.Swap(nil); tm != nil {
				tm.Stop()
			}
			return nil
		},
	}
	ctx = httptrace.WithClientTrace(ctx, trace)
	resp, err := t.inner.RoundTrip(req.WithContext(ctx))
	if tm := timer.Load(); tm != nil && !tm.Stop() && errors.Is(context.Cause(ctx), slow) {
		if resp != nil {
			_ = resp.Body.Close()
		}
		cancel(nil)
		return nil, slow
	}
	if err != nil {
		cancel(nil)
		return nil, err
	}
	// The body is read under ctx: it ends with the body.
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: func() { cancel(nil) }}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// SmallAnswerTimeout bounds the reading of a small answer, a token or an
// API's JSON, once its headers came, and the reading of any answer's
// headers once their first byte came: a server that trickles them a byte
// at a time, each in time to beat the stall timeout, is dropped all the
// same (64 KiB in this time is 2 KiB/s at least). See
// Policy.AnswerWithin.
const SmallAnswerTimeout = 30 * time.Second

// SlowError says an answer, or its headers, did not arrive whole in
// time. It is a timeout (a net.Error whose Timeout is true).
type SlowError struct {
	Within time.Duration
	// What is "headers" when the headers were late, else "".
	What string
}

func (e *SlowError) Error() string {
	if e.What != "" {
		return fmt.Sprintf("the answer's %s did not arrive whole within %s of their first byte", e.What, e.Within)
	}
	return fmt.Sprintf("the answer did not arrive whole within %s", e.Within)
}

// Timeout is true: see net.Error.
func (e *SlowError) Timeout() bool { return true }

// Temporary is true: see net.Error.
func (e *SlowError) Temporary() bool { return true }

// ReadAllWithin reads body to its end, at most limit+1 bytes, and fails
// with a *SlowError, closing body, when that takes longer than within.
func ReadAllWithin(body io.ReadCloser, limit int64, within time.Duration) ([]byte, error) {
	var late atomic.Bool
	t := time.AfterFunc(within, func() {
		late.Store(true)
		_ = body.Close()
	})
	defer t.Stop()
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil && late.Load() {
		return data, &SlowError{Within: within}
	}
	return data, err
}
