package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// daemonRecorder stands between the plugin and the real Docker daemon and
// records the paths it is asked for.
type daemonRecorder struct {
	host  string // DOCKER_HOST value for the plugin
	mu    sync.Mutex
	paths []string
}

func recordDaemon(t *testing.T) *daemonRecorder {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	rec := &daemonRecorder{host: "unix://" + sock}
	network, addr := daemonAddr()
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.Out.URL.Scheme, r.Out.URL.Host = "http", "docker" },
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}},
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.paths = append(rec.paths, r.URL.Path)
		rec.mu.Unlock()
		proxy.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return rec
}

// daemonAddr is where the daemon of the tests listens: DOCKER_HOST's, else
// the default socket.
func daemonAddr() (network, addr string) {
	host := os.Getenv("DOCKER_HOST")
	if rest, ok := strings.CutPrefix(host, "tcp://"); ok {
		return "tcp", rest
	}
	if rest, ok := strings.CutPrefix(host, "unix://"); ok {
		return "unix", rest
	}
	return "unix", "/var/run/docker.sock"
}

// count tells how many requests had a path ending in suffix.
func (d *daemonRecorder) count(suffix string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, p := range d.paths {
		if strings.HasSuffix(p, suffix) {
			n++
		}
	}
	return n
}

// registryCounter stands in front of the world's registry and counts the
// bytes of blob uploads.
type registryCounter struct {
	url   string
	bytes atomic.Int64
}

func (w *world) countRegistry(t *testing.T) *registryCounter {
	t.Helper()
	target, _ := url.Parse(w.reg.URL)
	rc := &registryCounter{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/uploads/") && r.Body != nil {
			r.Body = &countingBody{ReadCloser: r.Body, n: &rc.bytes}
		}
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL
	return rc
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}
