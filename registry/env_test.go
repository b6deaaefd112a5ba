package registry_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/transport"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/canonical/docker-charmcraft/registry/registrytest"
	"github.com/opencontainers/go-digest"
)

const (
	testRepo = "charm/abc123/image"
	testUser = "uploader"
	testPass = "s3cret-pa55word"
)

// tokenServer is the token endpoint of the test registry: it checks the
// Basic credentials and grants what the scope asks for.
type tokenServer struct {
	iss  *registrytest.TokenIssuer
	hits atomic.Int64

	// grant, if set, replaces the access asked for.
	grant func(scope string) []registrytest.Access
	// ttl is the token's real lifetime; expiresIn what the answer says.
	ttl       time.Duration
	expiresIn int
	// issue, if set, signs in place of iss (e.g. with a key the registry
	// does not trust).
	issue func(subject string, access []registrytest.Access, ttl time.Duration) (string, error)

	mu     sync.Mutex
	issued []string
}

func (ts *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ts.hits.Add(1)
	user, pass, ok := r.BasicAuth()
	if !ok || user != testUser || pass != testPass {
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		http.Error(w, `{"details":"incorrect username or password"}`, http.StatusUnauthorized)
		return
	}
	if got := r.URL.Query().Get("service"); got != ts.iss.Service {
		http.Error(w, "unknown service "+got, http.StatusBadRequest)
		return
	}
	scope := r.URL.Query().Get("scope")
	access := ts.access(scope)
	if ts.grant != nil {
		access = ts.grant(scope)
	}
	issue := ts.iss.Issue
	if ts.issue != nil {
		issue = ts.issue
	}
	tok, err := issue(user, access, ts.ttl)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	ts.mu.Lock()
	ts.issued = append(ts.issued, tok)
	ts.mu.Unlock()
	// Not JSON's Content-Type: the client must not insist on it.
	w.Header().Set("Content-Type", "text/plain")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "expires_in": ts.expiresIn})
}

// access parses "repository:<name>:<actions>".
func (ts *tokenServer) access(scope string) []registrytest.Access {
	typ, rest, _ := strings.Cut(scope, ":")
	i := strings.LastIndex(rest, ":")
	if typ != "repository" || i < 0 {
		return nil
	}
	return []registrytest.Access{{Type: typ, Name: rest[:i], Actions: strings.Split(rest[i+1:], ",")}}
}

func (ts *tokenServer) tokens() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.issued...)
}

// newTokenServer issues tokens of iss, for 5 minutes, to the test's
// credentials.
func newTokenServer(iss *registrytest.TokenIssuer) *tokenServer {
	return &tokenServer{iss: iss, ttl: 5 * time.Minute, expiresIn: 300}
}

// serveTokens serves ts for the length of the test, and returns its URL.
func serveTokens(t testing.TB, ts *tokenServer) string {
	t.Helper()
	srv := httptest.NewServer(ts)
	t.Cleanup(srv.Close)
	return srv.URL
}

type testEnv struct {
	reg    *registrytest.Registry
	tokens *tokenServer
}

type envConfig struct {
	dir   string // store blobs on disk under it
	setup func(*tokenServer)
}

// newEnv starts a registry with token auth and its token endpoint.
func newEnv(t testing.TB, cfg envConfig) *testEnv {
	t.Helper()
	iss, err := registrytest.NewTokenIssuer("registrytest", "registry.test")
	if err != nil {
		t.Fatal(err)
	}
	ts := newTokenServer(iss)
	if cfg.setup != nil {
		cfg.setup(ts)
	}
	reg, err := registrytest.Start(registrytest.Config{Realm: serveTokens(t, ts) + "/token", Issuer: iss, Dir: cfg.dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	return &testEnv{reg: reg, tokens: ts}
}

// client is a client of testRepo with the right credentials, then opts.
func (e *testEnv) client(t testing.TB, opts ...registry.Option) *registry.Client {
	t.Helper()
	return newClient(t, e.reg.URL, opts...)
}

func newClient(t testing.TB, url string, opts ...registry.Option) *registry.Client {
	t.Helper()
	opts = append([]registry.Option{registry.WithBasicAuth(testUser, testPass), registry.WithRetryPolicy(transport.Policy{Attempts: 4, Budget: transport.DefaultBudget, Base: time.Millisecond})}, opts...)
	c, err := registry.New(url, testRepo, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func randomBlob(t *testing.T, n int) ([]byte, digest.Digest) {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b, digest.FromBytes(b)
}

// pushRandom pushes a random blob of n bytes and returns it.
func pushRandom(t *testing.T, c *registry.Client, n int) ([]byte, digest.Digest) {
	t.Helper()
	b, d := randomBlob(t, n)
	if err := c.PushBlob(t.Context(), bytes.NewReader(b), int64(n), d); err != nil {
		t.Fatalf("PushBlob: %v", err)
	}
	return b, d
}
