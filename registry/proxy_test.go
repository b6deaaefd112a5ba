package registry_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// proxy is a loopback reverse proxy in front of the test registry. Each
// request is recorded, then offered to hook, which may answer it instead.
type proxy struct {
	URL  string
	hook func(n int, w http.ResponseWriter, r *http.Request) bool

	conns atomic.Int64 // connections opened to the proxy

	mu       sync.Mutex
	requests []*http.Request
}

func newProxy(t *testing.T, target string, hook func(n int, w http.ResponseWriter, r *http.Request) bool) *proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{hook: hook}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		r.Out.Host = r.In.Host // the registry builds upload locations from it
	}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.requests = append(p.requests, r.Clone(r.Context()))
		n := len(p.requests)
		p.mu.Unlock()
		if p.hook != nil && p.hook(n, w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			p.conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// seen returns the requests so far.
func (p *proxy) seen() []*http.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*http.Request(nil), p.requests...)
}

// count counts the requests so far of method.
func (p *proxy) count(method string) int {
	n := 0
	for _, r := range p.seen() {
		if r.Method == method {
			n++
		}
	}
	return n
}
