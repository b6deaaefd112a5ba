package transport

import (
	"errors"
	"io"
	"net/http"
)

// DefaultUserAgent is the User-Agent of a client not given another.
const DefaultUserAgent = "docker-charmcraft"

// ClientOptions are how a client of the plugin carries its requests. The
// charmhub and registry packages take the same four, each with an option
// of its own (WithTransport, WithUserAgent, WithRetryPolicy, WithDebug)
// that sets it with the ClientOption of the same name.
type ClientOptions struct {
	// Transport carries the requests, under the layers of Stack.
	Transport http.RoundTripper
	// UserAgent is the User-Agent header of every request.
	UserAgent string
	// Policy is how requests are retried.
	Policy Policy
	// Debug, if not nil, receives the log of the requests (see NewLog).
	Debug io.Writer
}

// DefaultClientOptions are New(DefaultStallTimeout), DefaultUserAgent,
// DefaultPolicy and no log.
func DefaultClientOptions() ClientOptions {
	return ClientOptions{Transport: New(DefaultStallTimeout), UserAgent: DefaultUserAgent, Policy: DefaultPolicy()}
}

// Stack is Stack over o's transport, with o's policy, user agent and
// log, the start of each answer read before it is returned, up to
// buffer bytes, unless o's policy says how much (Policy.BufferAnswer).
func (o ClientOptions) Stack(log *Log, buffer int64) http.RoundTripper {
	p := o.Policy
	if p.BufferAnswer == 0 {
		p.BufferAnswer = buffer
	}
	return Stack(o.Transport, p, o.UserAgent, log)
}

// A ClientOption sets one of the ClientOptions.
type ClientOption func(*ClientOptions) error

// WithTransport sets the transport, which must not be nil.
func WithTransport(rt http.RoundTripper) ClientOption {
	return func(o *ClientOptions) error {
		if rt == nil {
			return errors.New("the transport is nil")
		}
		o.Transport = rt
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) ClientOption {
	return func(o *ClientOptions) error {
		o.UserAgent = ua
		return nil
	}
}

// WithRetryPolicy sets the retry policy, which must pass Policy.Check.
func WithRetryPolicy(p Policy) ClientOption {
	return func(o *ClientOptions) error {
		if err := p.Check(); err != nil {
			return err
		}
		o.Policy = p
		return nil
	}
}

// WithDebug sets where the requests are logged; nil logs nothing.
func WithDebug(w io.Writer) ClientOption {
	return func(o *ClientOptions) error {
		o.Debug = w
		return nil
	}
}
