package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
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
			return "cannot be found: no such host " + Printable(dns.Name)
		}
		return "cannot be found: looking up " + Printable(dns.Name) + " failed"
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
