package registry

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// Option configures a [Client].
type Option func(*options) error

type options struct {
	user, pass    string
	transport     http.RoundTripper
	timeout       time.Duration
	jar           http.CookieJar
	checkRedirect func(*http.Request, []*http.Request) error
	userAgent     string
	debug         io.Writer
	attempts      int
	backoff       time.Duration
}

func defaultOptions() *options {
	return &options{
		transport: transport.New(transport.DefaultStallTimeout),
		userAgent: "docker-charmcraft",
		attempts:  4,
		backoff:   250 * time.Millisecond,
	}
}

// WithBasicAuth sets the credentials traded for a bearer token at the realm
// of the registry's challenge. They are sent to the registry itself only if
// it asks for Basic auth. The default is to ask for a token anonymously.
func WithBasicAuth(user, pass string) Option {
	return func(o *options) error {
		o.user, o.pass = user, pass
		return nil
	}
}

// WithHTTPClient takes the transport, timeout, cookie jar and redirect
// policy of c. The transport is wrapped in the client's own layers; the
// redirect policy runs after the client's own, which drops credentials on a
// redirect to another host and refuses one from https to http. The default
// is no overall timeout (blobs can be large) over a transport whose waits
// are bounded: connecting, the TLS handshake, the answer's headers, and any
// silence on a connection longer than two minutes.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("nil http client")
		}
		o.transport = c.Transport
		if o.transport == nil {
			o.transport = http.DefaultTransport
		}
		o.timeout, o.jar, o.checkRedirect = c.Timeout, c.Jar, c.CheckRedirect
		return nil
	}
}

// WithTransport sets the transport that carries the requests, wrapped in
// the client's own layers. The default bounds every wait, as
// WithHTTPClient says.
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) error {
		if rt == nil {
			return errors.New("nil transport")
		}
		o.transport = rt
		return nil
	}
}

// WithUserAgent sets the User-Agent header of every request. The default
// is "docker-charmcraft".
func WithUserAgent(ua string) Option {
	return func(o *options) error {
		o.userAgent = ua
		return nil
	}
}

// WithDebug logs each request to w, one line each: method, host and path
// (never the query), status, time taken, retries and token fetches.
// Credentials and tokens are written as <redacted>. The default is to log
// nothing.
func WithDebug(w io.Writer) Option {
	return func(o *options) error {
		o.debug = w
		return nil
	}
}

// WithRetry sets how many times in all a request is tried, and the first
// backoff, which doubles at each retry and gets up to half again as random
// jitter. Only requests that can be replayed whole are retried (HEAD, GET,
// and PUT or DELETE with a replayable body), and only after a 429 or 5xx
// answer, a reset connection or a timeout; a Retry-After answer is waited
// for, up to a minute. An attempts of 1 disables retries. The default is 4
// attempts from 250ms.
func WithRetry(attempts int, base time.Duration) Option {
	return func(o *options) error {
		if attempts < 1 {
			return errors.New("retry attempts must be at least 1")
		}
		if base < 0 {
			return errors.New("retry backoff must not be negative")
		}
		o.attempts, o.backoff = attempts, base
		return nil
	}
}
