package faultproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// Proxy forwards every request to one target server, applying the first
// rule that matches it. Its methods are safe for concurrent use.
type Proxy struct {
	// URL is the proxy's base URL, http://127.0.0.1:<port>: point the
	// client at it instead of the target.
	URL string

	target *url.URL
	srv    *httptest.Server
	client *http.Client

	mu       sync.Mutex
	rules    []*Rule
	requests []Request
}

// Request is a request the proxy received, and what it did with it.
type Request struct {
	Method, Path string
	// Fault is the kind of fault applied, "" for none.
	Fault Kind
	// Status is the status the client was answered, 0 if none was.
	Status int
	// Header is the request's header as received.
	Header http.Header
	// Query is the request's raw query.
	Query string
	// ContentLength is the request's, -1 when sent chunked.
	ContentLength int64
	// BodyBytes is how many bytes of the body the proxy read from the
	// client, so far.
	BodyBytes int64
}

// New starts a proxy to target, a base URL such as http://127.0.0.1:5000.
func New(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: invalid target %q", target)
	}
	p := &Proxy{
		target: u,
		client: &http.Client{
			Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16},
			// Redirects are the client's to follow, through the proxy.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	p.srv = httptest.NewServer(p)
	p.URL = p.srv.URL
	return p, nil
}

// Close stops the proxy and drops every connection.
func (p *Proxy) Close() {
	p.srv.CloseClientConnections()
	p.srv.Close()
	p.client.CloseIdleConnections()
}

// Add adds rules, tried in order after those added before.
func (p *Proxy) Add(rules ...Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range rules {
		p.rules = append(p.rules, &r)
	}
}

// Clear removes every rule.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Requests returns the requests received so far, in order of arrival.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.requests)
}

// Count is how many requests matched method ("" for any) and the
// path.Match pattern.
func (p *Proxy) Count(method, pattern string) int {
	n := 0
	for _, r := range p.Requests() {
		if (method == "" || r.Method == method) && match(pattern, r.Path) {
			n++
		}
	}
	return n
}

// BodyBytes is how many body bytes the proxy read from the client in
// the requests that matched method ("" for any) and the path.Match
// pattern.
func (p *Proxy) BodyBytes(method, pattern string) int64 {
	var n int64
	for _, r := range p.Requests() {
		if (method == "" || r.Method == method) && match(pattern, r.Path) {
			n += r.BodyBytes
		}
	}
	return n
}

// Faulted is how many requests a fault was applied to.
func (p *Proxy) Faulted() int {
	n := 0
	for _, r := range p.Requests() {
		if r.Fault != "" {
			n++
		}
	}
	return n
}

func match(pattern, p string) bool {
	if pattern == "" {
		return true
	}
	ok, _ := path.Match(pattern, p)
	return ok
}

// pick returns the fault for r, counting it against its rule, or nil.
// It locks p.mu.
func (p *Proxy) pick(r *http.Request) *Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rule := range p.rules {
		if !rule.matches(r) {
			continue
		}
		if rule.After > 0 {
			rule.After--
			continue
		}
		if rule.Times < 0 {
			continue // spent
		}
		if rule.Times > 0 {
			if rule.Times--; rule.Times == 0 {
				rule.Times = -1
			}
		}
		f := rule.Fault
		return &f
	}
	return nil
}

// pickAndRecord returns the fault for r, if any, after recording r (and,
// as it is read, the bytes of its body); done records the status answered.
func (p *Proxy) pickAndRecord(r *http.Request) (f *Fault, done func(status int)) {
	f = p.pick(r)
	rec := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Query: r.URL.RawQuery, ContentLength: r.ContentLength}
	if f != nil {
		rec.Fault = f.Kind
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = append(p.requests, rec)
	i := len(p.requests) - 1
	if r.Body != nil {
		r.Body = &countingBody{ReadCloser: r.Body, add: func(n int) {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.requests[i].BodyBytes += int64(n)
		}}
	}
	return f, func(status int) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.requests[i].Status = status
	}
}

// ServeHTTP applies the fault for r, if any, and forwards what is left.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, done := p.pickAndRecord(r)
	sw := &statusWriter{ResponseWriter: w}
	defer func() { done(sw.status) }()
	if f != nil && f.Kind == Status {
		f.answer(sw, r)
		return
	}
	if f != nil && f.Kind == Stall {
		// Take the body first: only then does the server notice a client
		// that gives up waiting.
		data, err := io.ReadAll(r.Body)
		if err != nil || !wait(r.Context(), f.Delay) {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(data))
	}
	if f != nil && f.Kind == ResetRequest && r.ContentLength == 0 {
		resetConn(sw)
		return
	}
	p.forward(sw, r, f)
}

// forward sends r to the target, through f's faults, and passes the answer
// back through them.
func (p *Proxy) forward(w *statusWriter, r *http.Request, f *Fault) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	body, length := requestBody(r, f)
	u := *p.target
	u.Path = strings.TrimSuffix(p.target.Path, "/") + r.URL.Path
	u.RawPath = ""
	u.RawQuery = r.URL.RawQuery
	out, err := http.NewRequestWithContext(ctx, r.Method, u.String(), body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = withoutHopHeaders(r.Header)
	out.ContentLength = length
	// The target builds absolute URLs, such as upload locations, from it.
	out.Host = r.Host
	resp, err := p.client.Do(out) //nolint:gosec // a test proxy forwards to its one target
	if rb, ok := body.(*faultyBody); ok && rb.reset.Load() {
		resetConn(w)
		return
	}
	if err != nil {
		http.Error(w, "faultproxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer func() { _ = resp.Body.Close() }()
	if f != nil && f.Kind == StallAnswer && !wait(r.Context(), f.Delay) {
		return
	}
	for k, v := range withoutHopHeaders(resp.Header) {
		w.Header()[k] = v
	}
	if f != nil && f.Kind == SetHeader {
		w.Header().Set(f.Header, f.Value)
	}
	w.WriteHeader(resp.StatusCode)
	if f != nil && f.Kind == TruncateAnswer {
		_, _ = io.CopyN(w, resp.Body, f.Bytes)
		w.Flush()
		panic(http.ErrAbortHandler) // drops the connection, the answer cut short
	}
	_, _ = io.Copy(flushWriter{w}, resp.Body)
}

// requestBody is what is sent on of r's body, and its length.
func requestBody(r *http.Request, f *Fault) (io.Reader, int64) {
	if r.ContentLength == 0 {
		return http.NoBody, 0
	}
	if f == nil {
		return r.Body, r.ContentLength
	}
	length := r.ContentLength
	if f.Kind == TruncateRequest && length >= 0 {
		length = min(length, f.Bytes) // the body ends cleanly, short
	}
	return &faultyBody{r: r.Body, f: f, start: time.Now()}, length
}

// wait waits d, and says false if the client left first.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// resetConn drops the client's connection with a TCP reset.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Transfer-Encoding", "Te", "Trailer", "Upgrade"}

func withoutHopHeaders(h http.Header) http.Header {
	h = h.Clone()
	for _, k := range hopHeaders {
		h.Del(k)
	}
	return h
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type flushWriter struct{ w *statusWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	f.w.Flush()
	return n, err
}

var errReset = errors.New("faultproxy: connection reset on purpose")

// countingBody reports each read's length to add.
type countingBody struct {
	io.ReadCloser
	add func(int)
}

func (c *countingBody) Read(b []byte) (int, error) {
	n, err := c.ReadCloser.Read(b)
	if n > 0 {
		c.add(n)
	}
	return n, err
}
