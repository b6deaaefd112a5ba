package e2e

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
)

// TestPlainHTTPOnlyOnLoopback points each service at plain http on a
// host that is not loopback by name (0.0.0.0 reaches this machine all
// the same): refused before any call, unless CHARMCRAFT_ALLOW_INSECURE=1.
func TestPlainHTTPOnlyOnLoopback(t *testing.T) {
	w := newWorld(t)
	path, _ := writeFile(t, "data.bin", 1000)
	elsewhere := func(u string) string { return strings.Replace(u, "127.0.0.1", "0.0.0.0", 1) }
	for _, name := range []string{"CHARMCRAFT_STORE_API_URL", "CHARMCRAFT_UPLOAD_URL", "CHARMCRAFT_REGISTRY_URL", "CHARMCRAFT_STORE_SSO_URL"} {
		t.Run(name, func(t *testing.T) {
			var u string
			for _, kv := range w.env("", "CHARMCRAFT_STORE_SSO_URL="+w.hub.SSOURL()) {
				if v, ok := strings.CutPrefix(kv, name+"="); ok {
					u = v
				}
			}
			before := len(w.hub.Requests())
			res := dockerCmd(t, w.env(ownerToken, name+"="+elsewhere(u)), "charmcraft", "upload-resource", "my-charm", "my-file", "--filepath", path)
			if res.code != 1 || !strings.Contains(res.stderr, name+" points at http://0.0.0.0:") ||
				!strings.Contains(res.stderr, "CHARMCRAFT_ALLOW_INSECURE=1") {
				t.Errorf("want a refusal naming %s and the opt-in; got %s", name, res)
			}
			if n := len(w.hub.Requests()) - before; n != 0 {
				t.Errorf("%d requests made before the refusal", n)
			}
			res = dockerCmd(t, w.env(ownerToken, name+"="+elsewhere(u), "CHARMCRAFT_ALLOW_INSECURE=1"), "charmcraft", "upload-resource", "my-charm", "my-file", "--filepath", path)
			if res.code != 0 {
				t.Errorf("with CHARMCRAFT_ALLOW_INSECURE=1: %s", res)
			}
		})
	}
}

// TestTLSIsVerified points each service at https with a certificate
// nothing trusts: the plugin refuses to talk to it.
func TestTLSIsVerified(t *testing.T) {
	w := newWorld(t)
	path, _ := writeFile(t, "data.bin", 1000)
	var mu sync.Mutex
	reached := 0
	untrusted := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		mu.Lock()
		reached++
		mu.Unlock()
	}))
	t.Cleanup(untrusted.Close)
	file := []string{"my-file", "--filepath", path}
	image := []string{"my-image", "--image", "sha256:" + strings.Repeat("ab", 32)}
	for name, args := range map[string][]string{"CHARMCRAFT_STORE_API_URL": file, "CHARMCRAFT_UPLOAD_URL": file, "CHARMCRAFT_REGISTRY_URL": image} {
		t.Run(name, func(t *testing.T) {
			res := dockerCmd(t, w.env(ownerToken, name+"="+untrusted.URL), append([]string{"charmcraft", "upload-resource", "my-charm"}, args...)...)
			if res.code != 1 || !strings.Contains(res.stderr, "certificate") {
				t.Errorf("want a certificate error; got %s", res)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if reached != 0 {
		t.Errorf("%d requests got through to the untrusted server", reached)
	}
}

// recorder is a server on another origin that records what reaches it.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []*http.Request
}

func newRecorder(t *testing.T, status int) *recorder {
	t.Helper()
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.seen = append(r.seen, req.Clone(req.Context()))
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

// redirector passes requests to target, but redirects those match
// selects to the same path on to.
func redirector(t *testing.T, target, to string, match func(*http.Request) bool) string {
	t.Helper()
	u, _ := url.Parse(target)
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		r.Out.Host = r.In.Host
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if match(r) {
			http.Redirect(w, r, to+r.URL.Path+"?from=redirect", http.StatusTemporaryRedirect) //nolint:gosec // the redirect under test
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestRedirectsCarryNoCredentials has the registry send its checks, and
// Charmhub its listing, to another host: that host gets neither the
// registry's credentials nor the Charmhub macaroon.
func TestRedirectsCarryNoCredentials(t *testing.T) {
	needDocker(t)
	known := &secrets{}
	w := newWorld(t, charmhubtest.WithRegistryPasswords(known.registryPassword))
	known.add(ownerToken, exportedAuth(ownerToken, false))
	id := buildImage(t, 808, layerSpec{size: 1 << 20, random: true})

	other := newRecorder(t, http.StatusNotFound)
	reg := redirector(t, w.reg.URL, other.URL, func(r *http.Request) bool {
		return r.Method == http.MethodHead && r.Header.Get("Authorization") != ""
	})
	res := dockerCmd(t, w.env(ownerToken, "CHARMCRAFT_REGISTRY_URL="+reg), "charmcraft", "upload-resource", "my-charm", "my-image", "--image", id)
	if res.code != 0 {
		t.Fatalf("the push through redirects failed: %s", res)
	}
	hub := newRecorder(t, http.StatusUnauthorized)
	api := redirector(t, w.hub.URL(), hub.URL, func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/resources") })
	res = dockerCmd(t, w.env(ownerToken, "CHARMCRAFT_STORE_API_URL="+api+"/api"), "charmcraft", "resources", "my-charm")
	if res.code == 0 {
		t.Errorf("a listing answered 401 by the other host succeeded: %s", res)
	}
	for _, rec := range []*recorder{other, hub} {
		rec.mu.Lock()
		if len(rec.seen) == 0 {
			t.Errorf("no request was redirected to %s", rec.URL)
		}
		for _, r := range rec.seen {
			if auth := r.Header.Get("Authorization"); auth != "" {
				t.Errorf("%s %s reached the other host with Authorization %.10s...", r.Method, r.URL.Path, auth)
			}
			var dump strings.Builder
			_ = r.Header.Write(&dump)
			if found := known.find(dump.String() + r.URL.String()); len(found) > 0 {
				t.Errorf("%s %s reached the other host with %v", r.Method, r.URL.Path, found)
			}
		}
		rec.mu.Unlock()
	}
}
