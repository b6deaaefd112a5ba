package registry

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// logger writes debug lines; a nil *logger writes nothing.
type logger struct {
	mu sync.Mutex
	w  io.Writer
}

func newLogger(w io.Writer) *logger {
	if w == nil {
		return nil
	}
	return &logger{w: w}
}

func (l *logger) printf(format string, args ...any) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = fmt.Fprintf(l.w, "registry: "+format+"\n", args...)
}

// where names a URL for logs and errors: host and path, never the user
// information or the query (an upload location's query holds its state).
func where(u *url.URL) string { return u.Host + u.EscapedPath() }

// logTransport logs each request that reaches it and its answer. It sits
// below the retries and the auth, so it sees every attempt as sent.
type logTransport struct {
	inner http.RoundTripper
	log   *logger
}

func (t *logTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	auth := ""
	if v := req.Header.Get("Authorization"); v != "" {
		scheme, _, _ := strings.Cut(v, " ")
		auth = " (authorization: " + scheme + " <redacted>)"
	}
	t.log.printf("--> %s %s%s", req.Method, where(req.URL), auth)
	start := time.Now()
	resp, err := t.inner.RoundTrip(req)
	took := time.Since(start).Round(time.Microsecond)
	if err != nil {
		t.log.printf("<-- %s %s: %v (%s)", req.Method, where(req.URL), err, took)
		return nil, err
	}
	challenge := ""
	if v := resp.Header.Get("WWW-Authenticate"); v != "" {
		challenge = " challenge: " + transport.Printable(v)
	}
	t.log.printf("<-- %d %s %s (%s)%s", resp.StatusCode, req.Method, where(req.URL), took, challenge)
	return resp, nil
}

// userAgentTransport sets the User-Agent of requests that have none.
type userAgentTransport struct {
	inner http.RoundTripper
	ua    string
}

func (t *userAgentTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.ua != "" && req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", t.ua)
	}
	return t.inner.RoundTrip(req)
}
