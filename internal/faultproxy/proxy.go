package faultproxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy forwards every request to its target server (or to the target of
// the route its path takes), across its Link, applying the first rule
// that matches it. Its methods are safe for concurrent use.
type Proxy struct {
	// URL is the proxy's base URL, http://127.0.0.1:<port> (or
	// unix://<path> on a Unix socket, or https://<name>:<port> serving
	// TLS): point the client at it instead of the target.
	URL string

	target *url.URL
	srv    *httptest.Server
	client *http.Client

	mu       sync.Mutex
	routes   []route
	rules    []*Rule
	requests []Request
	cleared  int // times ClearRequests ran
	link     Link
	up, down *pacer
}

// route sends the requests whose path starts with prefix to target.
type route struct {
	prefix string
	target *url.URL
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
	// Start is when the request arrived, End when its answer was passed
	// back whole (or given up); End is zero until then.
	Start, End time.Time
}

// Option configures a Proxy.
type Option func(*settings)

type settings struct {
	ln      net.Listener
	tlsConf *tls.Config
	name    string
}

// OnListener has the proxy serve on ln, a TCP or a Unix socket, instead of
// a loopback port of its own.
func OnListener(ln net.Listener) Option {
	return func(s *settings) { s.ln = ln }
}

// ServingTLS has the proxy serve HTTPS with conf, and name itself by host
// (a name conf's certificate holds) in its URL, instead of by its
// address. In front of a registry served over HTTPS, it keeps the path
// HTTPS end to end: the registry's answers name the proxy (the Host it is
// asked for) with https. An https target is reached over TLS, trusting
// the system's roots (SSL_CERT_FILE).
func ServingTLS(conf *tls.Config, host string) Option {
	return func(s *settings) { s.tlsConf, s.name = conf, host }
}

// New starts a proxy to target: a base URL such as http://127.0.0.1:5000,
// or a Docker daemon's address, unix:///var/run/docker.sock or
// tcp://127.0.0.1:2375.
func New(target string, opts ...Option) (*Proxy, error) {
	var set settings
	for _, opt := range opts {
		opt(&set)
	}
	tr := &http.Transport{
		DisableCompression:  true,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     time.Minute,
		WriteBufferSize:     256 << 10,
		ReadBufferSize:      256 << 10,
	}
	u, err := parseTarget(target, tr)
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		target: u,
		client: &http.Client{
			Transport: tr,
			// Redirects are the client's to follow, through the proxy.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	p.srv = httptest.NewUnstartedServer(p)
	p.srv.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		fresh := new(atomic.Bool)
		fresh.Store(true)
		return context.WithValue(ctx, connKey{}, fresh)
	}
	if set.ln != nil {
		_ = p.srv.Listener.Close()
		p.srv.Listener = set.ln
	}
	if set.tlsConf == nil {
		p.srv.Start()
		p.URL = p.srv.URL
	} else {
		p.srv.TLS = set.tlsConf.Clone()
		// HTTP/1.1, whose connections a fault can take over and reset.
		p.srv.TLS.NextProtos = []string{"http/1.1"}
		p.srv.StartTLS()
		_, port, _ := net.SplitHostPort(p.srv.Listener.Addr().String())
		p.URL = "https://" + net.JoinHostPort(set.name, port)
	}
	if a := p.srv.Listener.Addr(); a.Network() == "unix" {
		p.URL = "unix://" + a.String()
	}
	return p, nil
}

// parseTarget reads a target, setting tr up to reach one on a Unix socket
// or given as tcp://.
func parseTarget(target string, tr *http.Transport) (*url.URL, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" && u.Scheme != "unix" {
		return nil, fmt.Errorf("faultproxy: invalid target %q", target)
	}
	switch u.Scheme {
	case "unix":
		sock := u.Path
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}
		return &url.URL{Scheme: "http", Host: "docker"}, nil
	case "tcp":
		return &url.URL{Scheme: "http", Host: u.Host}, nil
	}
	return u, nil
}

// Route sends the requests whose path starts with prefix to target, a base
// URL, instead of the proxy's own target; the longest prefix wins. The
// proxy then stands for every target as one server: the Location and
// WWW-Authenticate headers of answers name it instead of any target, so
// that a registry's token realm on another server is reached through the
// proxy too.
func (p *Proxy) Route(prefix, target string) error {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return fmt.Errorf("faultproxy: invalid target %q", target)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.routes = append(p.routes, route{prefix: prefix, target: u})
	slices.SortStableFunc(p.routes, func(a, b route) int { return len(b.prefix) - len(a.prefix) })
	return nil
}

// targetOf is the target of a request path, and the base URLs of every
// target, which answers are rewritten from (none without routes).
func (p *Proxy) targetOf(reqPath string) (*url.URL, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.target
	if len(p.routes) == 0 {
		return t, nil
	}
	bases := []string{base(p.target)}
	for _, r := range p.routes {
		if t == p.target && strings.HasPrefix(reqPath, r.prefix) {
			t = r.target
		}
		bases = append(bases, base(r.target))
	}
	return t, bases
}

func base(u *url.URL) string { return u.Scheme + "://" + u.Host }

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

// ClearRequests forgets the requests received so far: Requests, Count
// and BodyBytes start again from none.
func (p *Proxy) ClearRequests() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = nil
	p.cleared++
}

// Requests returns the requests received so far, in order of arrival.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.requests)
}

// Settled is Requests once every request recorded so far has its End, or
// once timeout has passed: an answer reaches the client a moment before
// the proxy notes that it was passed back whole.
func (p *Proxy) Settled(timeout time.Duration) []Request {
	deadline := time.Now().Add(timeout)
	for {
		reqs := p.Requests()
		if !slices.ContainsFunc(reqs, func(r Request) bool { return r.End.IsZero() }) || time.Now().After(deadline) {
			return reqs
		}
		time.Sleep(5 * time.Millisecond)
	}
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
	rec := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Query: r.URL.RawQuery,
		ContentLength: r.ContentLength, Start: time.Now()}
	if f != nil {
		rec.Fault = f.Kind
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = append(p.requests, rec)
	i, cleared := len(p.requests)-1, p.cleared
	// A request still under way when ClearRequests ran is not counted.
	update := func(f func(*Request)) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.cleared == cleared {
			f(&p.requests[i])
		}
	}
	if r.Body != nil {
		r.Body = &countingBody{ReadCloser: r.Body, add: func(n int) {
			update(func(rec *Request) { rec.BodyBytes += int64(n) })
		}}
	}
	return f, func(status int) {
		update(func(rec *Request) { rec.Status, rec.End = status, time.Now() })
	}
}

// ServeHTTP applies the fault for r, if any, and forwards what is left.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, done := p.pickAndRecord(r)
	sw := &statusWriter{ResponseWriter: w}
	defer func() { done(sw.status) }()
	c, ok := p.cross(r.Context())
	if !ok {
		return
	}
	sw.ctx, sw.delay = r.Context(), c.half
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
	p.forward(sw, r, f, c)
}

// forward sends r to the target, through f's faults, and passes the answer
// back through them.
func (p *Proxy) forward(w *statusWriter, r *http.Request, f *Fault, c crossing) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	body, length := requestBody(r, f)
	if body != http.NoBody {
		body = pace(ctx, body, c.up)
	}
	target, bases := p.targetOf(r.URL.Path)
	u := *target
	u.Path = strings.TrimSuffix(target.Path, "/") + r.URL.Path
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
	resp, err := p.client.Do(out) //nolint:gosec // a test proxy forwards to its targets
	if rb, ok := unpaced(body).(*faultyBody); ok && rb.reset.Load() {
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
	for _, k := range []string{"Location", "Www-Authenticate"} {
		for _, b := range bases {
			if v := w.Header().Get(k); strings.Contains(v, b) {
				w.Header().Set(k, strings.ReplaceAll(v, b, p.URL))
			}
		}
	}
	if f != nil && f.Kind == SetHeader {
		w.Header().Set(f.Header, f.Value)
	}
	if f != nil && f.Kind == TrickleHeaders {
		trickleHeaders(w, resp, f.Delay)
		return
	}
	w.WriteHeader(resp.StatusCode)
	if f != nil && f.Kind == TrickleAnswer {
		trickle(r.Context(), w, resp.Body, f.Delay)
		return
	}
	if f != nil && f.Kind == TruncateAnswer {
		_, _ = io.CopyN(w, resp.Body, f.Bytes)
		w.Flush()
		panic(http.ErrAbortHandler) // drops the connection, the answer cut short
	}
	_, _ = io.Copy(flushWriter{w}, pace(ctx, resp.Body, c.down))
}

// unpaced is the reader a pacedReader reads, or r.
func unpaced(r io.Reader) io.Reader {
	if pr, ok := r.(*pacedReader); ok {
		return pr.r
	}
	return r
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
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn() // a reset, not TLS's close_notify
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

// statusWriter remembers the status written, and holds the answer for
// the link's way back before it starts.
type statusWriter struct {
	http.ResponseWriter
	status int
	ctx    context.Context
	delay  time.Duration
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		if w.delay > 0 {
			wait(w.ctx, w.delay)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
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

// trickle writes what r gives to w one byte every delay, until r ends or
// ctx is done.
func trickle(ctx context.Context, w *statusWriter, r io.Reader, delay time.Duration) {
	b := make([]byte, 1)
	for {
		if _, err := io.ReadFull(r, b); err != nil {
			return
		}
		if _, err := w.Write(b); err != nil {
			return
		}
		w.Flush()
		if !wait(ctx, delay) {
			return
		}
	}
}

// trickleHeaders sends resp, whose headers w holds, over w's connection
// taken over: its status line and headers one byte every delay, then its
// body.
func trickleHeaders(w *statusWriter, resp *http.Response, delay time.Duration) {
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return
	}
	w.status = resp.StatusCode
	conn, _, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return
	}
	defer func() { _ = conn.Close() }()
	h := w.Header().Clone()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	var head bytes.Buffer
	fmt.Fprintf(&head, "HTTP/1.1 %03d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
	_ = h.Write(&head)
	head.WriteString("\r\n")
	for _, c := range head.Bytes() {
		if _, err := conn.Write([]byte{c}); err != nil {
			return
		}
		time.Sleep(delay)
	}
	_, _ = conn.Write(body)
}
