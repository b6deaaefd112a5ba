package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
)

// StatusError is an error that carries the HTTP status a server
// answered: the registry's and Charmhub's errors are.
type StatusError interface {
	error
	HTTPStatus() int
}

// Temporary says whether err, the failure of a request or of an
// operation made of requests, may pass on another attempt: a status the
// policy retries, a connection that broke, stalled or was refused, an
// answer cut short. Not a cancellation, a certificate that failed to
// verify, nor a failure of this side (see Local).
func (p Policy) Temporary(err error) bool {
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	}
	if _, ok := errors.AsType[*localError](err); ok {
		return false
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return false // the same certificate comes back
	}
	if dns, ok := errors.AsType[*net.DNSError](err); ok && dns.IsNotFound {
		return false // no such host
	}
	if se, ok := errors.AsType[StatusError](err); ok {
		return p.RetryStatus(se.HTTPStatus())
	}
	if ConnectionBroken(err) || NotSent(err) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}

// NotSent says whether err is a failure to connect: the request never
// left, so even one that must not be sent twice may be sent again.
func NotSent(err error) bool {
	op, ok := errors.AsType[*net.OpError](err)
	return ok && op.Op == "dial"
}

// Local marks err as a failure of this side, such as reading the content
// to send: another attempt would meet it again.
func Local(err error) error { return &localError{err} }

type localError struct{ err error }

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }
