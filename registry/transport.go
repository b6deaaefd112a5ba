package registry

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
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
		tokens:   &http.Client{Transport: retry, Timeout: o.timeout, CheckRedirect: redirectPolicy(nil)},
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
		CheckRedirect: redirectPolicy(o.checkRedirect),
	}, retry
}

// redirectPolicy follows up to 10 redirects, never from https to plain
// http, dropping the Authorization header on the way to another origin
// (http.Client keeps it for a subdomain or another port), then applies
// next, if any.
func redirectPolicy(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if strings.EqualFold(via[0].URL.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https") {
			return errors.New("refusing a redirect from https to plain http")
		}
		if !sameOrigin(req.URL, via[0].URL) {
			req.Header.Del("Authorization")
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
}

// sameOrigin says whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && hostPort(a) == hostPort(b)
}

func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
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
