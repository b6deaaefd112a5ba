package e2e

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/faultproxy"
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

// countRegistry puts a proxy in front of the world's registry, to count
// the bytes of blob uploads.
func (w *world) countRegistry(t *testing.T) *registryCounter {
	t.Helper()
	p, err := faultproxy.New(w.reg.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return &registryCounter{url: p.URL, p: p}
}

// registryCounter is a proxy in front of the registry.
type registryCounter struct {
	url string
	p   *faultproxy.Proxy
}

// blobBytes is how many bytes of blob uploads went through.
func (rc *registryCounter) blobBytes() int64 {
	return rc.p.BodyBytes("", "/v2/*/*/*/blobs/uploads/*")
}
