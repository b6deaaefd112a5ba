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
	DefaultUserAgent = "docker-charmcraft"
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
	httpClient         *http.Client
	userAgent          string
	token              string
	schedule           []time.Duration
	attempts           int
	baseDelay          time.Duration
	debug              io.Writer
}

func defaultOptions() *options {
	return &options{
		apiURL:     DefaultAPIURL,
		storageURL: DefaultStorageURL,
		loginURL:   DefaultLoginURL,
		httpClient: &http.Client{Transport: transport.New(transport.DefaultStallTimeout)},
		userAgent:  DefaultUserAgent,
		schedule:   DefaultPollSchedule(),
		attempts:   4,
		baseDelay:  500 * time.Millisecond,
	}
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

func baseURL(what, s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("the Charmhub %s URL must be an http or https URL without credentials or query", what)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// WithHTTPClient sets the HTTP client whose transport carries the
// requests; the client itself is not modified. Redirects to another
// host never carry the credentials, and none goes from https to http.
// The default is a client without an overall timeout (uploads can be
// long) over a transport whose waits are bounded: connecting, the TLS
// handshake, the answer's headers, and any silence on a connection
// longer than two minutes.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("the HTTP client is nil")
		}
		o.httpClient = c
		return nil
	}
}

// WithUserAgent sets the User-Agent header. The default is DefaultUserAgent.
func WithUserAgent(ua string) Option {
	return func(o *options) error {
		o.userAgent = ua
		return nil
	}
}

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

// WithRetry sets how many times an idempotent request is tried in all,
// and the first backoff delay, doubled at each retry, with jitter.
// Attempts of 1 disable retries. The default is 4 attempts from 500ms.
func WithRetry(attempts int, baseDelay time.Duration) Option {
	return func(o *options) error {
		if attempts < 1 || baseDelay < 0 {
			return errors.New("retry needs at least one attempt and a non-negative delay")
		}
		o.attempts, o.baseDelay = attempts, baseDelay
		return nil
	}
}

// WithDebug logs every request (method, path, status, duration) and
// every retry to w, with credentials redacted. The default is no log.
func WithDebug(w io.Writer) Option {
	return func(o *options) error {
		o.debug = w
		return nil
	}
}
