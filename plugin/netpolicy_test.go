package plugin

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestPlainHTTPOnlyOnLoopback points each service at plain http on a
// host that is not loopback by name (0.0.0.0 reaches this machine all
// the same): refused before any call, unless CHARMCRAFT_ALLOW_INSECURE=1.
func TestPlainHTTPOnlyOnLoopback(t *testing.T) {
	hub := newHub(t)
	path := writeTestFile(t, "data.bin", 1000)
	elsewhere := func(u string) string { return strings.Replace(u, "127.0.0.1", "0.0.0.0", 1) }
	env := hubEnv(hub, ownerToken)
	env[ssoURLEnv] = hub.SSOURL()
	env[registryURLEnv] = "http://127.0.0.1:1" // a file upload does not reach it
	for _, name := range []string{apiURLEnv, uploadURLEnv, registryURLEnv, ssoURLEnv} {
		t.Run(name, func(t *testing.T) {
			env := maps.Clone(env)
			env[name] = elsewhere(env[name])
			before := len(hub.Requests())
			res := run(t, env, "upload-resource", "my-charm", "my-file", "--filepath", path)
			if res.code != 1 || !strings.Contains(res.stderr, name+" points at http://0.0.0.0:") ||
				!strings.Contains(res.stderr, "CHARMCRAFT_ALLOW_INSECURE=1") {
				t.Errorf("want a refusal naming %s and the opt-in; got %s", name, res)
			}
			if n := len(hub.Requests()) - before; n != 0 {
				t.Errorf("%d requests made before the refusal", n)
			}
			env[allowInsecureEnv] = "1"
			res = run(t, env, "upload-resource", "my-charm", "my-file", "--filepath", path)
			if res.code != 0 {
				t.Errorf("with CHARMCRAFT_ALLOW_INSECURE=1: %s", res)
			}
		})
	}
}

// TestTLSIsVerified points each service at https with a certificate
// nothing trusts: the plugin refuses to talk to it.
func TestTLSIsVerified(t *testing.T) {
	hub := newHub(t)
	path := writeTestFile(t, "data.bin", 1000)
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
	for name, args := range map[string][]string{apiURLEnv: file, uploadURLEnv: file, registryURLEnv: image} {
		t.Run(name, func(t *testing.T) {
			env := hubEnv(hub, ownerToken)
			env[name] = untrusted.URL
			res := run(t, env, append([]string{"upload-resource", "my-charm"}, args...)...)
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
