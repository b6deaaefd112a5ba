package registry_test

import (
	"context"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/transport"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/canonical/docker-charmcraft/registry/registrytest"
	"github.com/opencontainers/go-digest"
)

func TestParseChallenge(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		scheme  string
		params  map[string]string
		wantErr bool
	}{
		{
			name:   "distribution bearer",
			header: `Bearer realm="https://a/token",service="reg",scope="repository:x/y:pull,push"`,
			scheme: "bearer",
			params: map[string]string{"realm": "https://a/token", "service": "reg", "scope": "repository:x/y:pull,push"},
		},
		{
			name:   "case-insensitive scheme and names",
			header: `BEARER Realm="r", SERVICE=reg`,
			scheme: "bearer",
			params: map[string]string{"realm": "r", "service": "reg"},
		},
		{
			name:   "escaped quotes and backslashes",
			header: `Bearer realm="a \"quoted\" \\ realm", error="x\ty"`,
			scheme: "bearer",
			params: map[string]string{"realm": `a "quoted" \ realm`, "error": "xty"},
		},
		{
			name:   "commas and equals inside quotes",
			header: `Bearer scope="repository:a:pull,push,delete", realm="https://h/t?a=b,c=d"`,
			scheme: "bearer",
			params: map[string]string{"scope": "repository:a:pull,push,delete", "realm": "https://h/t?a=b,c=d"},
		},
		{
			name:   "white space around the equals sign and empty list elements",
			header: "  Bearer \trealm = \"r\" ,, ,service=\"s\" , ",
			scheme: "bearer",
			params: map[string]string{"realm": "r", "service": "s"},
		},
		{
			name:   "insufficient scope",
			header: `Bearer realm="r",service="s",scope="repository:a:pull",error="insufficient_scope"`,
			scheme: "bearer",
			params: map[string]string{"realm": "r", "service": "s", "scope": "repository:a:pull", "error": "insufficient_scope"},
		},
		{
			name:   "basic",
			header: `Basic realm="Registry Realm", charset="UTF-8"`,
			scheme: "basic",
			params: map[string]string{"realm": "Registry Realm", "charset": "UTF-8"},
		},
		{name: "scheme only", header: "Negotiate", scheme: "negotiate", params: map[string]string{}},
		{
			name:   "first of two challenges",
			header: `Bearer realm="a", Basic realm="b"`,
			scheme: "bearer",
			params: map[string]string{"realm": "a"},
		},
		{
			name:   "empty quoted value",
			header: `Bearer realm="", service=s`,
			scheme: "bearer",
			params: map[string]string{"realm": "", "service": "s"},
		},
		{name: "empty", header: "", wantErr: true},
		{name: "blank", header: "   ", wantErr: true},
		{name: "garbage", header: `"}{`, wantErr: true},
		{name: "missing value", header: `Bearer realm=`, wantErr: true},
		{name: "missing equals sign", header: `Bearer realm`, wantErr: true},
		{name: "token68", header: `Basic dXNlcjpwYXNz==`, wantErr: true},
		{name: "unterminated quote", header: `Bearer realm="https://a/token`, wantErr: true},
		{name: "escape at the end", header: `Bearer realm="a\`, wantErr: true},
		{name: "missing comma", header: `Bearer realm="a" service="b"`, wantErr: true},
		{name: "repeated parameter", header: `Bearer realm="a", REALM="b"`, wantErr: true},
		{name: "control character", header: "Bearer realm=\"a\x01b\"", wantErr: true},
		{name: "junk after the scheme", header: `Bearer"realm"`, wantErr: true},
		{name: "junk after a value", header: `Bearer realm="a"x`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scheme, params, err := registry.ParseChallenge(tt.header)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseChallenge(%q) = %q, %v; want an error", tt.header, scheme, params)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseChallenge(%q): %v", tt.header, err)
			}
			if scheme != tt.scheme || !maps.Equal(params, tt.params) {
				t.Errorf("ParseChallenge(%q) = %q, %v; want %q, %v", tt.header, scheme, params, tt.scheme, tt.params)
			}
		})
	}
}

// FuzzParseChallenge checks ParseChallenge never panics, and that what it
// accepts, written back out in canonical form, parses to the same.
func FuzzParseChallenge(f *testing.F) {
	for _, seed := range []string{
		`Bearer realm="https://a/token",service="reg",scope="repository:x/y:pull,push"`,
		`Bearer realm="a \"b\" \\", scope="a,b"`,
		`Basic realm="Registry Realm"`,
		`Bearer realm="a", Basic realm="b"`,
		"Negotiate",
		`Basic dXNlcg==`,
		`Bearer realm="unterminated`,
		"Bearer ,, realm = x ,",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		scheme, params, err := registry.ParseChallenge(header)
		if err != nil {
			return
		}
		if scheme == "" || scheme != strings.ToLower(scheme) {
			t.Fatalf("scheme %q not lower case", scheme)
		}
		var b strings.Builder
		b.WriteString(scheme)
		for i, name := range slices.Sorted(maps.Keys(params)) {
			if name == "" || name != strings.ToLower(name) {
				t.Fatalf("parameter name %q", name)
			}
			sep := ", "
			if i == 0 {
				sep = " "
			}
			v := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(params[name])
			b.WriteString(sep + name + `="` + v + `"`)
		}
		scheme2, params2, err := registry.ParseChallenge(b.String())
		if err != nil {
			t.Fatalf("reparsing %q (from %q): %v", b.String(), header, err)
		}
		if scheme2 != scheme || !maps.Equal(params, params2) {
			t.Fatalf("reparsing %q gave %q %v, want %q %v", b.String(), scheme2, params2, scheme, params)
		}
	})
}

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

	// A challenge that is not the repository's: the registry's own 401
	// says what to do, as with none.
	iss, err := registrytest.NewTokenIssuer("another", "registry.test")
	if err != nil {
		t.Fatal(err)
	}
	another := serveTokens(t, newTokenServer(iss))
	for name, tt := range map[string]struct {
		ch           *registry.Challenge
		unauthorized int // answers 401, the registry's telling its challenge included
	}{
		"none":                   {nil, 1},
		"a realm not URL":        {&registry.Challenge{Realm: "::not a URL"}, 1},
		"an ftp realm":           {&registry.Challenge{Realm: "ftp://" + host + "/token"}, 1},
		"another issuer's realm": {&registry.Challenge{Realm: another + "/token", Service: "registry.test"}, 1},
		// The registry's API root answers 401 to Basic credentials.
		"a realm refusing the credentials": {&registry.Challenge{Realm: e.reg.URL + "/v2/", Service: "registry.test"}, 2},
	} {
		if tt.ch != nil && strings.HasPrefix(tt.ch.Realm, "http://") && u.Scheme == "https" {
			continue // a plain realm under an https registry is ignored, as "an ftp realm" is
		}
		a := newAnswers()
		before := e.tokens.hits.Load()
		if ok, err := e.client(t, registry.WithTransport(a), registry.WithChallenge(tt.ch)).ManifestExists(t.Context(), missing); ok || err != nil {
			t.Fatalf("%s: ManifestExists = %t, %v", name, ok, err)
		}
		if n := a.unauthorized(); n != tt.unauthorized || e.tokens.hits.Load() != before+1 {
			t.Errorf("%s: %d answers 401, %d tokens from the registry's realm; want %d and 1", name, n, e.tokens.hits.Load()-before, tt.unauthorized)
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
	// A URL New would refuse is refused alike, unsent, its password unshown.
	if ch, err := registry.Ping(t.Context(), "http://user:pa55word@127.0.0.1:2", registry.WithTransport(a)); ch != nil || err == nil ||
		strings.Contains(err.Error(), "pa55word") || a.dials["127.0.0.1:2"] != 0 {
		t.Errorf("Ping with credentials in the URL = %+v, %v; %d dials", ch, err, a.dials["127.0.0.1:2"])
	}
}
