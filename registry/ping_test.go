package registry_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/transport"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/opencontainers/go-digest"
)

// answers records the status of every answer, and counts the
// connections dialled.
type answers struct {
	tr    *http.Transport
	mu    sync.Mutex
	codes []int
	dials map[string]int
}

func newAnswers() *answers {
	a := &answers{tr: transport.New(0), dials: map[string]int{}}
	dial := a.tr.DialContext
	a.tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		a.mu.Lock()
		a.dials[addr]++
		a.mu.Unlock()
		return dial(ctx, network, addr)
	}
	return a
}

func (a *answers) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := a.tr.RoundTrip(req)
	if err == nil {
		a.mu.Lock()
		a.codes = append(a.codes, resp.StatusCode)
		a.mu.Unlock()
	}
	return resp, err
}

func (a *answers) unauthorized() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.codes {
		if c == http.StatusUnauthorized {
			n++
		}
	}
	return n
}

// TestPingChallenge: the challenge Ping learns, given to the client, has
// its first request go with a token (no 401), over the connection Ping
// opened; a challenge the client would not send credentials to is
// ignored, and the registry's own challenge is answered as without one.
func TestPingChallenge(t *testing.T) {
	e := newEnv(t, envConfig{})
	missing := digest.FromString("no such manifest")
	a := newAnswers()
	ch, err := registry.Ping(t.Context(), e.reg.URL, registry.WithTransport(a))
	if err != nil || ch == nil || ch.Realm == "" || ch.Service != "registry.test" {
		t.Fatalf("Ping = %+v, %v; want the registry's Bearer challenge", ch, err)
	}
	if n := a.unauthorized(); n != 1 {
		t.Fatalf("%d answers 401 to the ping, want 1", n)
	}
	if ok, err := e.client(t, registry.WithTransport(a), registry.WithChallenge(ch)).ManifestExists(t.Context(), missing); ok || err != nil {
		t.Fatalf("ManifestExists = %t, %v", ok, err)
	}
	u, err := url.Parse(e.reg.URL)
	if err != nil {
		t.Fatal(err)
	}
	host := u.Host
	if n := a.unauthorized(); n != 1 || a.dials[host] != 1 || e.tokens.hits.Load() != 1 {
		t.Errorf("with the challenge: %d answers 401 in all, %d connections to the registry, %d tokens; want 1, 1, 1", n, a.dials[host], e.tokens.hits.Load())
	}

	for name, ch := range map[string]*registry.Challenge{
		"none":            nil,
		"a realm not URL": {Realm: "::not a URL"},
		"an ftp realm":    {Realm: "ftp://" + host + "/token"},
	} {
		a := newAnswers()
		if ok, err := e.client(t, registry.WithTransport(a), registry.WithChallenge(ch)).ManifestExists(t.Context(), missing); ok || err != nil {
			t.Fatalf("%s: ManifestExists = %t, %v", name, ok, err)
		}
		if n := a.unauthorized(); n != 1 {
			t.Errorf("%s: %d answers 401, want the one that tells the challenge", name, n)
		}
	}
}

// TestPingRefused: a registry that is not there fails the ping at once,
// without a retry.
func TestPingRefused(t *testing.T) {
	a := newAnswers()
	if ch, err := registry.Ping(t.Context(), "http://127.0.0.1:1", registry.WithTransport(a)); ch != nil || err == nil {
		t.Errorf("Ping = %+v, %v; want an error", ch, err)
	}
	if a.dials["127.0.0.1:1"] != 1 {
		t.Errorf("%d dials, want 1", a.dials["127.0.0.1:1"])
	}
}
