package transport

import (
	"context"
	"errors"
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
