package charmhub

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// debugLog writes debug lines; a nil *debugLog writes nothing.
type debugLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *debugLog) printf(format string, args ...any) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = fmt.Fprintf(l.w, "charmhub: "+format+"\n", args...)
}

// debugTransport logs each request sent and its answer.
type debugTransport struct {
	inner http.RoundTripper
	log   *debugLog
}

func (t *debugTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	where := safeURL(req)
	h := req.Header
	if req.ContentLength > 0 {
		h = h.Clone()
		h.Set("Content-Length", fmt.Sprint(req.ContentLength))
	}
	t.log.printf("--> %s %s %s", req.Method, where, headerLine(h))
	start := time.Now()
	resp, err := t.inner.RoundTrip(req)
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		t.log.printf("<-- %s %s failed after %s: %v", req.Method, where, took, err)
		return nil, err
	}
	t.log.printf("<-- %s %s %s (%s)", req.Method, where, resp.Status, took)
	return resp, nil
}

// safeURL is the URL without user, query or fragment.
func safeURL(req *http.Request) string {
	return req.URL.Scheme + "://" + req.URL.Host + req.URL.Path
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
		if secretHeader(name) {
			value = "REDACTED"
		}
		parts = append(parts, name+": "+value)
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

func secretHeader(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"authorization", "cookie", "token", "macaroon", "password", "secret"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}
