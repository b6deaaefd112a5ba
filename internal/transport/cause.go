package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"strconv"
	"syscall"
)

// Cause says in words what went wrong with a request to a service, as the
// predicate of a sentence whose subject is the service: "refused the
// connection", "answered 503". It keeps Go's wording out of what users
// read; the error itself is for --debug.
func Cause(err error) string {
	if se, ok := errors.AsType[StatusError](err); ok {
		return "answered " + strconv.Itoa(se.HTTPStatus())
	}
	if dns, ok := errors.AsType[*net.DNSError](err); ok {
		if dns.IsNotFound {
			return "cannot be found (no such host " + Printable(dns.Name) + ")"
		}
		return "cannot be found (looking up " + Printable(dns.Name) + " failed)"
	}
	if _, ok := errors.AsType[x509.HostnameError](err); ok {
		return "presented a certificate for another name"
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return "presented a certificate this machine does not trust"
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return "presented a certificate this machine does not trust"
	}
	if _, ok := errors.AsType[*SlowError](err); ok {
		return "answered too slowly"
	}
	if se, ok := errors.AsType[*StallError](err); ok {
		return "sent nothing for " + se.Idle.String()
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused the connection"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "cannot be reached: no route to it"
	case ConnectionBroken(err), errors.Is(err, net.ErrClosed):
		return "dropped the connection"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "cut its answer short"
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		if NotSent(err) {
			return "cannot be reached: connecting timed out"
		}
		return "did not answer in time"
	}
	if NotSent(err) {
		return "cannot be reached"
	}
	return "failed"
}

// Failure is a request to a service that failed without an answer, as
// the retry layer returns it: the service, for what the user is told,
// around the error, whose words are Go's (for --debug).
type Failure struct {
	// Service is the service's name (see Run.Name), else its host.
	Service string
	// Host is the host the request went to.
	Host string
	Err  error
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// Plain is the failure in words: the service and the cause, "Charmhub
// refused the connection".
func (f *Failure) Plain() string { return f.Service + " " + Cause(f.Err) }

// WithoutURL drops the *url.Error that http.Client wraps its errors in:
// it quotes the whole URL, query and any password included.
func WithoutURL(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}
