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
