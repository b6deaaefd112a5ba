package transport

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Log writes a client's debug lines, each after its prefix; a nil *Log
// writes nothing.
type Log struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

// NewLog returns a log to w whose lines start with "prefix: "; nil when
// w is nil.
func NewLog(w io.Writer, prefix string) *Log {
	if w == nil {
		return nil
	}
	return &Log{w: w, prefix: prefix + ": "}
}

// Printf writes one line.
func (l *Log) Printf(format string, args ...any) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = fmt.Fprintf(l.w, l.prefix+format+"\n", args...)
}

// debugTransport logs each request that reaches it and its answer. It
// sits below the retries, so it sees every attempt as sent.
type debugTransport struct {
	inner http.RoundTripper
	log   *Log
}

func (t *debugTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	where := SafeURL(req)
	h := req.Header
	if req.ContentLength > 0 {
		h = h.Clone()
		h.Set("Content-Length", fmt.Sprint(req.ContentLength))
	}
	t.log.Printf("--> %s %s %s", req.Method, where, headerLine(h))
	start := time.Now()
	resp, err := t.inner.RoundTrip(req)
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		t.log.Printf("<-- %s %s failed after %s: %v", req.Method, where, took, err)
		return nil, err
	}
	extra := ""
	if v := resp.Header.Get("WWW-Authenticate"); v != "" {
		extra = " challenge: " + Printable(v)
	}
	if v := resp.Header.Get("Range"); v != "" {
		extra += " range: " + Printable(v)
	}
	t.log.Printf("<-- %s %s %s (%s)%s", req.Method, where, resp.Status, took, extra)
	return resp, nil
}

// SafeURL is the URL of req for logs and errors: without user
// information, query (an upload location's holds its state) or fragment.
func SafeURL(req *http.Request) string {
	return req.URL.Scheme + "://" + req.URL.Host + req.URL.EscapedPath()
}

// headerLine lists the headers, sorted, with secrets redacted.
func headerLine(h http.Header) string {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	parts := make([]string, 0, len(names))
	for _, name := range names {
		value := strings.Join(h.Values(name), ", ")
		if SecretHeader(name) {
			value = "REDACTED"
		}
		parts = append(parts, name+": "+Printable(value))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// SecretHeader is the one redaction rule: a header whose name speaks of
// authorization, a cookie, a token, a macaroon, a password or a secret is
// never written out.
func SecretHeader(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"authorization", "cookie", "token", "macaroon", "password", "secret"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
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
