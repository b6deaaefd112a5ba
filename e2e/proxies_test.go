package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/faultproxy"
)

// daemonRecorder stands between the plugin and the real Docker daemon and
// records the paths it is asked for.
type daemonRecorder struct {
	host string // DOCKER_HOST value for the plugin
	p    *faultproxy.Proxy
}

func recordDaemon(t *testing.T) *daemonRecorder {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "docker.sock"))
	if err != nil {
		t.Fatal(err)
	}
	target := os.Getenv("DOCKER_HOST")
	if target == "" {
		target = "unix:///var/run/docker.sock"
	}
	p, err := faultproxy.New(target, faultproxy.OnListener(ln))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return &daemonRecorder{host: p.URL, p: p}
}

// count tells how many requests had a path ending in suffix.
func (d *daemonRecorder) count(suffix string) int {
	n := 0
	for _, r := range d.p.Requests() {
		if strings.HasSuffix(r.Path, suffix) {
			n++
		}
	}
	return n
}

// proxyRegistry puts a fault proxy in front of the world's registry,
// served as the registry is: over TLS, by the registry's name, with its
// certificate, so that the path stays HTTPS end to end and the registry's
// upload locations name the proxy by a URL that reaches it.
func (w *world) proxyRegistry(t *testing.T) *faultproxy.Proxy {
	t.Helper()
	front, err := w.reg.Front()
	if err != nil {
		t.Fatal(err)
	}
	opts := []faultproxy.Option{faultproxy.OnListener(front.Listener)}
	if front.TLS != nil {
		opts = append(opts, faultproxy.ServingTLS(front.TLS, front.Host))
	}
	p, err := faultproxy.New(w.reg.URL, opts...)
	if err != nil {
		_ = front.Listener.Close()
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// countRegistry puts a proxy in front of the world's registry, to count
// the bytes of blob uploads.
func (w *world) countRegistry(t *testing.T) *registryCounter {
	t.Helper()
	p := w.proxyRegistry(t)
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
