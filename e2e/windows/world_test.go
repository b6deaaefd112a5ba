package windows

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
	"github.com/canonical/docker-charmcraft/internal/faultproxy"
	"github.com/canonical/docker-charmcraft/registry/registrytest"
)

const (
	ownerToken = "macaroon-alice-0123456789"
	imageRepo  = "charm/charm-id-alice/my-image"
)

// world is the test Charmhub and a real registry with token auth on
// loopback, each behind a fault proxy: Wine's processes share the host's
// network, so the plugin reaches them as it would on Windows.
type world struct {
	hub                *charmhubtest.Server
	reg                *registrytest.Registry
	hubProxy, regProxy *faultproxy.Proxy
}

func newWorld(t *testing.T) *world {
	t.Helper()
	cw := charmhubtest.Start(t, charmhubtest.WorldConfig{
		RegistryDir: t.TempDir(),
		Accounts:    []charmhubtest.Account{{Username: "alice", Token: ownerToken}},
		Charms:      []charmhubtest.Charm{charmhubtest.MyCharm("charm-id-alice", "alice")},
	})
	hub, reg := cw.Hub, cw.Registry
	w := &world{hub: hub, reg: reg}
	for _, p := range []struct {
		to     **faultproxy.Proxy
		target string
	}{{&w.hubProxy, hub.URL()}, {&w.regProxy, reg.URL}} {
		proxy, err := faultproxy.New(p.target)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(proxy.Close)
		*p.to = proxy
	}
	return w
}

// env points the plugin at the world, through the proxies, with the
// owner's credentials in CHARMCRAFT_AUTH unless auth is false.
func (w *world) env(auth bool, extra ...string) []string {
	env := []string{
		"CHARMCRAFT_STORE_API_URL=" + w.hubProxy.URL + "/api",
		"CHARMCRAFT_UPLOAD_URL=" + w.hubProxy.URL + "/storage",
		"CHARMCRAFT_REGISTRY_URL=" + w.regProxy.URL,
		"CHARMCRAFT_REVIEW_TIMEOUT=10s",
		"CHARMCRAFT_STALL_TIMEOUT=5s",
	}
	if auth {
		env = append(env, "CHARMCRAFT_AUTH="+base64.StdEncoding.EncodeToString([]byte(ownerToken)))
	}
	return append(env, extra...)
}

// apiHost is the Charmhub API host, under which login stores credentials.
func (w *world) apiHost() string {
	return strings.TrimPrefix(w.hubProxy.URL, "http://")
}

// lastImage is the image the last revision of my-image points at, ""
// when none does.
func (w *world) lastImage() string { return w.hub.ImageName("my-charm", "my-image") }

// configOf reads the manifest dgst from the registry, checks that it
// hashes to dgst, and returns its config's digest.
func (w *world) configOf(t *testing.T, dgst string) string {
	t.Helper()
	tok, err := w.hub.TokenIssuer().Issue("e2e", []registrytest.Access{{Type: "repository", Name: imageRepo, Actions: []string{"pull"}}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, w.reg.URL+"/v2/"+imageRepo+"/manifests/"+dgst, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET manifest %s: %s", dgst, resp.Status)
	}
	if got := fmt.Sprintf("sha256:%x", sha256.Sum256(body)); got != dgst {
		t.Fatalf("the manifest hashes to %s, want %s", got, dgst)
	}
	var m struct{ Config struct{ Digest string } }
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	return m.Config.Digest
}

// noTrace fails if the output shows a stack trace or the token.
func noTrace(t *testing.T, res result) {
	t.Helper()
	out := res.stdout + res.stderr
	if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic") {
		t.Errorf("the output shows a stack trace:\n%s", res)
	}
	if strings.Contains(out, ownerToken) || strings.Contains(out, base64.StdEncoding.EncodeToString([]byte(ownerToken))) {
		t.Errorf("the output shows the token:\n%s", res)
	}
}
