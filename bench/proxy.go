//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
)

// countingProxy stands in front of the registry (/v2/...) and of the
// Charmhub test server (everything else, the registry's token endpoint
// included), and counts what matters: the bytes of blob uploads, and the
// bytes and time of storage uploads.
type countingProxy struct {
	url, host string
	srv       *http.Server

	registry, hub *httputil.ReverseProxy

	blobBytes    atomic.Int64
	storageBytes atomic.Int64
	storageNanos atomic.Int64
	// The image part of an upload runs from the answer with registry
	// credentials to the request for the image blob (unix nanoseconds).
	credsAnswered, blobAsked atomic.Int64
}

// traffic is what the proxy counted since its last reset.
type traffic struct {
	blobBytes, storageBytes int64
	storageTime             time.Duration
	imagePart               time.Duration // 0 when not seen
}

func startProxy(registryURL, hubURL string) (*countingProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the proxy: %w", err)
	}
	p := &countingProxy{url: "http://" + ln.Addr().String(), host: ln.Addr().String()}
	if p.registry, err = reverseProxy(registryURL); err == nil {
		p.hub, err = reverseProxy(hubURL)
	}
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	// The token realm moves to the proxy too: crane takes a realm only
	// on the registry's own host when it is a loopback address.
	p.registry.ModifyResponse = func(resp *http.Response) error {
		if h := resp.Header.Get("WWW-Authenticate"); h != "" {
			resp.Header.Set("WWW-Authenticate", strings.Replace(h, hubURL, p.url, 1))
		}
		return nil
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: time.Minute}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// reverseProxy forwards to target, keeping the Host the client asked for
// so that the registry's upload locations point back at the proxy.
func reverseProxy(target string) (*httputil.ReverseProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = r.In.Host
		},
		Transport: &http.Transport{
			MaxIdleConnsPerHost: 32,
			IdleConnTimeout:     time.Minute,
			WriteBufferSize:     256 << 10,
			ReadBufferSize:      256 << 10,
		},
		FlushInterval: -1,
	}, nil
}

func (p *countingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch path := r.URL.Path; {
	case strings.HasPrefix(path, "/v2/"):
		if strings.Contains(path, "/blobs/uploads/") && r.Body != nil {
			r.Body = &countingBody{ReadCloser: r.Body, n: &p.blobBytes}
		}
		p.registry.ServeHTTP(w, r)
	case strings.HasPrefix(path, "/storage/unscanned-upload") && r.Body != nil:
		start := time.Now()
		r.Body = &countingBody{ReadCloser: r.Body, n: &p.storageBytes}
		p.hub.ServeHTTP(w, r)
		p.storageNanos.Add(int64(time.Since(start)))
	case strings.HasSuffix(path, "/oci-image/upload-credentials"):
		p.hub.ServeHTTP(w, r)
		p.credsAnswered.Store(time.Now().UnixNano())
	case strings.HasSuffix(path, "/oci-image/blob"):
		p.blobAsked.Store(time.Now().UnixNano())
		p.hub.ServeHTTP(w, r)
	default:
		p.hub.ServeHTTP(w, r)
	}
}

func (p *countingProxy) reset() {
	p.blobBytes.Store(0)
	p.storageBytes.Store(0)
	p.storageNanos.Store(0)
	p.credsAnswered.Store(0)
	p.blobAsked.Store(0)
}

func (p *countingProxy) counted() traffic {
	t := traffic{
		blobBytes:    p.blobBytes.Load(),
		storageBytes: p.storageBytes.Load(),
		storageTime:  time.Duration(p.storageNanos.Load()),
	}
	if c, b := p.credsAnswered.Load(), p.blobAsked.Load(); c > 0 && b > c {
		t.imagePart = time.Duration(b - c)
	}
	return t
}

func (p *countingProxy) close() { _ = p.srv.Close() }

// countingBody adds what is read through it to n.
type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingBody) Read(b []byte) (int, error) {
	n, err := c.ReadCloser.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// saveRE matches the Docker API's image export: ImageSave.
var saveRE = regexp.MustCompile(`/images/(.+/)?get$`)

// daemonProxy is a Unix socket in front of the Docker daemon's that
// counts image exports, to show which runs export the image at all.
type daemonProxy struct {
	sock  string
	srv   *http.Server
	saves atomic.Int64
	// pushes counts image pushes (the plugin's daemon push).
	pushes atomic.Int64
}

// startDaemonProxy listens on sock and forwards to the daemon's socket
// named by DOCKER_HOST (or the default one). A daemon reached otherwise
// cannot be proxied here.
func startDaemonProxy(sock, dockerHost string) (*daemonProxy, error) {
	target := "/var/run/docker.sock"
	if dockerHost != "" {
		var ok bool
		if target, ok = strings.CutPrefix(dockerHost, "unix://"); !ok {
			return nil, errors.New("DOCKER_HOST is not a unix socket")
		}
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, err
	}
	p := &daemonProxy{sock: sock}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = "http", "docker"
		},
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", target)
		}},
		FlushInterval: -1,
	}
	p.srv = &http.Server{ReadHeaderTimeout: time.Minute, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if saveRE.MatchString(r.URL.Path) {
			p.saves.Add(1)
		}
		if pushRE.MatchString(r.URL.Path) {
			p.pushes.Add(1)
		}
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func (p *daemonProxy) close() { _ = p.srv.Close() }
