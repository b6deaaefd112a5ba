package imagepush

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// relay is a loopback proxy to the registry, for one daemon push by a
// daemon on this machine. It is there for the daemon's cross-repository
// blob mounts: the containerd store remembers, per registry host (its IP
// or name: the port does not count), which repositories a blob was
// pushed to, and a later push to another repository of that host asks to
// mount it from there; the charm's token may not read that repository
// (another charm's), the registry answers insufficient_scope, and the
// daemon's push fails instead of uploading. Through the relay the
// registry is a host of its own for each push, a loopback address drawn
// from 127.13.0.0/16 (relayAddr), where no blob was pushed before; the
// daemon keeps it in its labels, which never name 127.0.0.1, where
// registries listen.
//
// To an https registry, the relay is an HTTP proxy (the daemon speaks
// plain HTTP to a loopback registry), which also turns a mount asked for
// anyway (an address drawn before) into a plain upload. To a plain-HTTP
// one (on the loopback, or allowed), it only copies bytes: the kernel
// does it (splice), at no cost to the plugin; in the rare push whose
// address was drawn before, a refused mount fails it, and the image is
// exported.
//
// A relay is used only once the daemon is known to reach it: probe has
// the daemon search it for a one-time term, which the relay answers
// itself, before any credential is handed to the daemon. A daemon in
// another network (Docker Desktop's VM, rootless Docker's namespace, a
// remote one) reaches its own loopback instead, and our relay never sees
// the term.
type relay struct {
	host  string // its address, 127.13.x.y:<port>
	close func()
	// term is the search term of the probe; seen is closed when the relay
	// is asked for it.
	term string
	seen chan struct{}
	once sync.Once
}

// relayAddr is where a relay listens: an address of the loopback (which
// the daemon treats as an insecure registry, so plain HTTP) drawn from
// 127.13.0.0/16, a fresh port on it.
func relayAddr() string {
	return fmt.Sprintf("127.13.%d.%d:0", rand.IntN(256), 1+rand.IntN(254)) //nolint:gosec // a spread, not a secret
}

// relayBuffer is the write buffer of each connection of an HTTP relay to
// the registry: with the default 4 KiB, a connection that is not a bare
// TCP one (no splice) takes a system call per 4 KiB of every layer.
const relayBuffer = 1 << 20

// startRelay relays a fresh loopback address to upstream, the registry's base URL,
// through tr (for https).
func startRelay(ctx context.Context, upstream *url.URL, tr http.RoundTripper) (*relay, error) {
	lc := &net.ListenConfig{}
	ln, err := lc.Listen(ctx, "tcp", relayAddr())
	if err != nil { // a system whose loopback is 127.0.0.1 alone (macOS)
		ln, err = lc.Listen(ctx, "tcp", "127.0.0.1:0")
	}
	if err != nil {
		return nil, err
	}
	r := &relay{host: ln.Addr().String(), term: fmt.Sprintf("charmcraft-probe-%016x", rand.Uint64()), seen: make(chan struct{})} //nolint:gosec // one-time, not a secret: what counts is that this relay sees it
	if upstream.Scheme == "http" {
		r.close = copyConns(ctx, ln, upstream.Host, r)
		return r, nil
	}
	proxy := httpRelay(upstream, r.host, tr)
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/v1/") {
			r.answerProbe(w, req)
			return
		}
		proxy.ServeHTTP(w, req)
	})
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: time.Minute}
	go func() { _ = srv.Serve(ln) }()
	// At once, not a graceful Shutdown: the push it served is over, and a
	// connection the daemon opened but never used would hold it for 5 s.
	r.close = func() { _ = srv.Close() }
	return r, nil
}

// probeTimeout bounds the probe: a daemon that cannot reach the relay is
// refused at once by its own loopback.
const probeTimeout = 10 * time.Second

// searcher is what the probe needs of the daemon.
type searcher interface {
	ImageSearch(ctx context.Context, term string, options client.ImageSearchOptions) (client.ImageSearchResult, error)
}

// probe has the daemon search the relay for its one-time term, with no
// credentials, and tells whether the relay saw it: nil when the daemon
// reaches the relay.
func (r *relay) probe(ctx context.Context, d searcher) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	_, err := d.ImageSearch(ctx, r.host+"/"+r.term, client.ImageSearchOptions{Limit: 1})
	select {
	case <-r.seen:
		return nil
	default:
	}
	if err == nil {
		err = errors.New("another server answered")
	}
	return fmt.Errorf("the Docker daemon did not reach the relay at %s, so it runs in another network (Docker Desktop's VM, rootless Docker, another host): %w", r.host, err)
}

// answerProbe answers the daemon's search of the probe: its ping, and
// the search itself, which marks the term seen.
func (r *relay) answerProbe(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch req.URL.Path {
	case "/v1/_ping":
		_, _ = io.WriteString(w, "{}")
	case "/v1/search":
		if req.URL.Query().Get("q") == r.term {
			r.once.Do(func() { close(r.seen) })
		}
		_, _ = io.WriteString(w, `{"num_results":0,"results":[]}`)
	default:
		http.NotFound(w, req)
	}
}

// sniffProbe reads the start of what the daemon sends on c: when it is a
// request of the probe (GET /v1/...), it is answered here and handled is
// true; otherwise head is what was read, to be sent on.
func (r *relay) sniffProbe(c net.Conn) (head []byte, handled bool) {
	const probeStart = "GET /v1/"
	buf := make([]byte, 0, 512)
	_ = c.SetReadDeadline(time.Now().Add(probeTimeout))
	defer func() { _ = c.SetReadDeadline(time.Time{}) }()
	for len(buf) < len(probeStart) && strings.HasPrefix(probeStart, string(buf)) {
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			return buf, false
		}
	}
	if !strings.HasPrefix(string(buf), probeStart) {
		return buf, false
	}
	req, err := http.ReadRequest(bufio.NewReader(io.MultiReader(bytes.NewReader(buf), c)))
	if err != nil {
		return nil, true
	}
	var w probeAnswer
	r.answerProbe(&w, req)
	resp := &http.Response{StatusCode: cmp.Or(w.code, http.StatusOK), ProtoMajor: 1, ProtoMinor: 1, Header: w.Header(),
		Body: io.NopCloser(&w.body), ContentLength: int64(w.body.Len()), Close: true}
	_ = resp.Write(c)
	return nil, true
}

// probeAnswer is an answer of the probe, held to be written on a bare
// connection.
type probeAnswer struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (a *probeAnswer) Header() http.Header {
	if a.header == nil {
		a.header = http.Header{}
	}
	return a.header
}
func (a *probeAnswer) Write(b []byte) (int, error) { return a.body.Write(b) }
func (a *probeAnswer) WriteHeader(code int)        { a.code = code }

// copyConns copies each connection ln accepts to and from a connection to
// target, until the returned function stops it all; the probe's requests
// are answered by r.
func copyConns(ctx context.Context, ln net.Listener, target string, r *relay) func() {
	if _, _, err := net.SplitHostPort(target); err != nil {
		target = net.JoinHostPort(target, "80")
	}
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	track := func(c net.Conn, on bool) {
		mu.Lock()
		defer mu.Unlock()
		if on {
			conns[c] = true
		} else {
			delete(conns, c)
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				track(c, true)
				defer track(c, false)
				defer func() { _ = c.Close() }()
				head, handled := r.sniffProbe(c)
				if handled {
					return
				}
				u, err := (&net.Dialer{}).DialContext(ctx, "tcp", target)
				if err != nil {
					return
				}
				if _, err := u.Write(head); err != nil {
					_ = u.Close()
					return
				}
				track(u, true)
				defer track(u, false)
				defer func() { _ = u.Close() }()
				go func() {
					_, _ = io.Copy(u, c)
					if tc, ok := u.(*net.TCPConn); ok {
						_ = tc.CloseWrite()
					}
				}()
				_, _ = io.Copy(c, u)
			}()
		}
	}()
	return func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for c := range conns {
			_ = c.Close()
		}
	}
}

// httpRelay proxies to upstream for a relay at host, through tr.
func httpRelay(upstream *url.URL, host string, tr http.RoundTripper) http.Handler {
	if ht, ok := tr.(*http.Transport); ok || tr == nil {
		if tr == nil {
			ht = http.DefaultTransport.(*http.Transport)
		}
		ht = ht.Clone()
		ht.WriteBufferSize = relayBuffer
		tr = ht
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.Out.Host = upstream.Host
			if pr.Out.Method == http.MethodPost && strings.HasSuffix(pr.Out.URL.Path, "/blobs/uploads/") {
				q := pr.Out.URL.Query()
				if q.Has("mount") {
					q.Del("mount")
					q.Del("from")
					pr.Out.URL.RawQuery = q.Encode()
				}
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			// Upload sessions are named by absolute URLs on the upstream:
			// keep the daemon on the relay.
			if loc := resp.Header.Get("Location"); loc != "" {
				if u, err := url.Parse(loc); err == nil && transport.SameOrigin(u, upstream) {
					u.Scheme, u.Host = "http", host
					resp.Header.Set("Location", u.String())
				}
			}
			return nil
		},
		Transport: tr,
		ErrorLog:  log.New(io.Discard, "", 0), // the daemon reports what failed
	}
}
