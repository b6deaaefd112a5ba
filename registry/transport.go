package registry

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// newHTTPClient builds the layers every request goes through, outermost
// first: bearer auth, retries, the debug log, the user agent, then the
// caller's transport. Token requests enter below the auth layer.
func newHTTPClient(o *options, registry *url.URL, scope string) (*http.Client, *retryTransport) {
	log := newLogger(o.debug)
	var rt http.RoundTripper = &userAgentTransport{inner: o.transport, ua: o.userAgent}
	if log != nil {
		rt = &logTransport{inner: rt, log: log}
	}
	retry := &retryTransport{inner: rt, attempts: o.attempts, base: o.backoff, log: log}
	bearer := &bearerTransport{
		inner:    retry,
		tokens:   &http.Client{Transport: retry, Timeout: o.timeout, CheckRedirect: transport.RedirectPolicy(nil)},
		registry: registry,
		scope:    scope,
		user:     o.user,
		pass:     o.pass,
		log:      log,
		fetching: make(chan struct{}, 1),
	}
	return &http.Client{
		Transport:     bearer,
		Timeout:       o.timeout,
		Jar:           o.jar,
		CheckRedirect: transport.RedirectPolicy(o.checkRedirect),
	}, retry
}

// unwrapURLError drops the *url.Error http.Client wraps errors in: it
// quotes the whole URL, query included.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
