package charmhub

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// Default endpoints and settings.
const (
	// DefaultAPIURL is the Charmhub API.
	DefaultAPIURL = "https://api.charmhub.io"
	// DefaultStorageURL is the storage service that receives uploads.
	DefaultStorageURL = "https://storage.snapcraftcontent.com"
	// DefaultUserAgent is sent when WithUserAgent is not given.
	DefaultUserAgent = transport.DefaultUserAgent
)

// DefaultPollSchedule is charmcraft's: the waits between two polls of a
// review, 60 seconds in all.
func DefaultPollSchedule() []time.Duration {
	s := []time.Duration{200 * time.Millisecond, 300 * time.Millisecond, 500 * time.Millisecond,
		time.Second, time.Second, time.Second, 2 * time.Second}
	for range 18 {
		s = append(s, 3*time.Second)
	}
	return s
}

// Option configures a Client.
type Option func(*options) error

type options struct {
	apiURL, storageURL string
	loginURL           string
	requests           transport.ClientOptions
	token              string
	schedule           []time.Duration
}

func defaultOptions() *options {
	return &options{
		apiURL:     DefaultAPIURL,
		storageURL: DefaultStorageURL,
		loginURL:   DefaultLoginURL,
		requests:   transport.DefaultClientOptions(),
		schedule:   DefaultPollSchedule(),
	}
}

// requests makes an option of how requests are carried, the same for
// every client of the plugin, an option of the Client.
func requests(set transport.ClientOption) Option {
	return func(o *options) error { return set(&o.requests) }
}

// WithAPIURL sets the base URL of the Charmhub API; a trailing "/" is
// dropped. The default is DefaultAPIURL.
func WithAPIURL(u string) Option {
	return func(o *options) (err error) {
		o.apiURL, err = baseURL("API", u)
		return err
	}
}

// WithStorageURL sets the base URL of the storage service; a trailing
// "/" is dropped. The default is DefaultStorageURL.
func WithStorageURL(u string) Option {
	return func(o *options) (err error) {
		o.storageURL, err = baseURL("storage", u)
		return err
	}
}

// WithLoginURL sets the base URL of the login service that discharges
// Charmhub's root macaroon; a trailing "/" is dropped. The default is
// DefaultLoginURL.
func WithLoginURL(u string) Option {
	return func(o *options) (err error) {
		o.loginURL, err = baseURL("login", u)
		return err
	}
}

func baseURL(what, s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("the Charmhub %s URL must be an http or https URL without credentials or query", what)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// WithTransport sets the transport that carries the requests, wrapped in
// the client's own layers: redirects never carry credentials to another
// origin, and none goes from https to http. The default has no overall
// timeout (uploads can be long) but bounds every wait: connecting, the
// TLS handshake, the answer's headers, and any silence on a connection
// longer than two minutes (transport.New).
func WithTransport(rt http.RoundTripper) Option { return requests(transport.WithTransport(rt)) }

// WithUserAgent sets the User-Agent header. The default is DefaultUserAgent.
func WithUserAgent(ua string) Option { return requests(transport.WithUserAgent(ua)) }

// WithToken sets the macaroon sent as "Authorization: Macaroon <token>"
// with every request. The default is none: calls fail with
// ErrNoCredentials.
func WithToken(macaroon string) Option {
	return func(o *options) error {
		macaroon = strings.TrimSpace(macaroon)
		if strings.ContainsFunc(macaroon, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
			return errors.New("the Charmhub token holds spaces or control characters")
		}
		o.token = macaroon
		return nil
	}
}

// WithPollSchedule sets the waits between two polls of a review; the
// review fails with ErrPollTimeout once they are spent. The default is
// DefaultPollSchedule.
func WithPollSchedule(s []time.Duration) Option {
	return func(o *options) error {
		for _, d := range s {
			if d < 0 {
				return errors.New("a poll delay is negative")
			}
		}
		o.schedule = append([]time.Duration(nil), s...)
		return nil
	}
}

// WithRetryPolicy sets how requests are retried: which answers, how
// often, for how long (see transport.Policy); answers are read whole
// before they are returned unless p.BufferAnswer says otherwise. The
// default is transport.DefaultPolicy.
func WithRetryPolicy(p transport.Policy) Option { return requests(transport.WithRetryPolicy(p)) }

// WithDebug logs every request (method, path, status, duration) and
// every retry to w, with credentials redacted. The default is no log.
func WithDebug(w io.Writer) Option { return requests(transport.WithDebug(w)) }
