package registry_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/testutil"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/canonical/docker-charmcraft/registry/registrytest"
	"github.com/opencontainers/go-digest"
)

func TestRefusedCredentials(t *testing.T) {
	tests := []struct {
		name   string
		opts   []registry.Option
		setup  func(*tokenServer)
		wantIs []error // one of
	}{
		{
			name:   "wrong password",
			opts:   []registry.Option{registry.WithBasicAuth(testUser, "wrong-password")},
			wantIs: []error{registry.ErrUnauthorized},
		},
		{
			name:   "no credentials",
			opts:   []registry.Option{registry.WithBasicAuth("", "")},
			wantIs: []error{registry.ErrUnauthorized},
		},
		{
			name: "token for another repository",
			setup: func(ts *tokenServer) {
				ts.grant = func(string) []registrytest.Access {
					return []registrytest.Access{{Type: "repository", Name: "charm/other/image", Actions: []string{"pull", "push"}}}
				}
			},
			wantIs: []error{registry.ErrUnauthorized, registry.ErrDenied},
		},
		{
			name: "token granting pull only",
			setup: func(ts *tokenServer) {
				ts.grant = func(string) []registrytest.Access {
					return []registrytest.Access{{Type: "repository", Name: testRepo, Actions: []string{"pull"}}}
				}
			},
			wantIs: []error{registry.ErrUnauthorized, registry.ErrDenied},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, envConfig{setup: tt.setup})
			var log bytes.Buffer
			c := env.client(t, append(tt.opts, registry.WithDebug(&log))...)
			read := false
			src := readFunc(func([]byte) (int, error) { read = true; return 0, io.EOF })
			_, err := c.PushBlobStream(t.Context(), src, nil)
			if !isAny(err, tt.wantIs) {
				t.Fatalf("PushBlobStream = %v, want one of %v", err, tt.wantIs)
			}
			if read {
				t.Error("the blob was read before the registry let the client in")
			}
			assertNoSecrets(t, "error", err.Error(), env)
			assertNoSecrets(t, "debug log", log.String(), env)
			t.Log(err)

			// A source that could be sent again is not: a refusal is final.
			log.Reset()
			blob := []byte("a blob that can be sent again")
			err = c.PushBlob(t.Context(), bytes.NewReader(blob), int64(len(blob)), digest.FromBytes(blob))
			if !isAny(err, tt.wantIs) || errors.Is(err, registry.ErrInterrupted) {
				t.Errorf("PushBlob = %v, want one of %v", err, tt.wantIs)
			}
			if strings.Contains(log.String(), "restarting") || strings.Contains(log.String(), "resuming") {
				t.Errorf("a refused push was tried again:\n%s", log.String())
			}
		})
	}
}

// TestPullOnlyToken checks a token that lets the client read but not write
// still reads: the refusal is of the push only.
func TestPullOnlyToken(t *testing.T) {
	env := newEnv(t, envConfig{setup: func(ts *tokenServer) {
		ts.grant = func(string) []registrytest.Access {
			return []registrytest.Access{{Type: "repository", Name: testRepo, Actions: []string{"pull"}}}
		}
	}})
	c := env.client(t)
	_, d := randomBlob(t, 10)
	if ok, err := c.BlobExists(t.Context(), d); err != nil || ok {
		t.Errorf("BlobExists = %v, %v; want false, nil", ok, err)
	}
}

func TestTokenFetchedOnce(t *testing.T) {
	env := newEnv(t, envConfig{})
	ctx := t.Context()

	c := env.client(t)
	blob, d := pushRandom(t, c, 1000)
	for range 10 {
		if ok, err := c.BlobExists(ctx, d); err != nil || !ok {
			t.Fatalf("BlobExists = %v, %v", ok, err)
		}
	}
	if _, err := c.PushBlobStream(ctx, bytes.NewReader(blob), nil); err != nil {
		t.Fatal(err)
	}
	rc, err := c.GetBlob(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, rc)
	_ = rc.Close()
	if n := env.tokens.hits.Load(); n != 1 {
		t.Errorf("%d token requests for one client's requests in a row, want 1", n)
	}

	// Requests that all start before any token is there wait for one fetch.
	c2 := env.client(t)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if ok, err := c2.BlobExists(ctx, d); err != nil || !ok {
				t.Errorf("BlobExists = %v, %v", ok, err)
			}
		})
	}
	wg.Wait()
	if n := env.tokens.hits.Load(); n != 2 {
		t.Errorf("%d token requests for a second client's concurrent requests, want 1", n-1)
	}
}

// TestTokenExpiry checks a token is renewed before a request when the
// token endpoint said it would have expired.
func TestTokenExpiry(t *testing.T) {
	env := newEnv(t, envConfig{setup: func(ts *tokenServer) { ts.expiresIn = 1 }})
	c := env.client(t)
	_, d := randomBlob(t, 10)
	for i, wantHits := range []int64{1, 1, 2} {
		if i == 2 {
			time.Sleep(time.Second)
		}
		if _, err := c.BlobExists(t.Context(), d); err != nil {
			t.Fatal(err)
		}
		if n := env.tokens.hits.Load(); n != wantHits {
			t.Errorf("request %d: %d token requests, want %d", i, n, wantHits)
		}
	}
}

// TestTokenRefusedLater checks a cached token the registry stops taking is
// renewed once, and the request sent again.
func TestTokenRefusedLater(t *testing.T) {
	untrusted, err := registrytest.NewTokenIssuer("registrytest", "registry.test")
	if err != nil {
		t.Fatal(err)
	}
	env := newEnv(t, envConfig{setup: func(ts *tokenServer) {
		ts.issue = func(sub string, access []registrytest.Access, ttl time.Duration) (string, error) {
			if ts.hits.Load() == 1 {
				return untrusted.Issue(sub, access, ttl)
			}
			return ts.iss.Issue(sub, access, ttl)
		}
	}})
	c := env.client(t)
	_, d := randomBlob(t, 10)
	// The first request gets the bad token and does not ask again for it.
	if _, err := c.BlobExists(t.Context(), d); !errors.Is(err, registry.ErrUnauthorized) {
		t.Fatalf("BlobExists with a freshly fetched bad token = %v, want ErrUnauthorized", err)
	}
	for range 2 {
		if _, err := c.BlobExists(t.Context(), d); err != nil {
			t.Fatalf("BlobExists: %v", err)
		}
	}
	if n := env.tokens.hits.Load(); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
}

// TestDebugRedacts checks the debug log shows the requests but no
// credentials, tokens or upload state.
func TestDebugRedacts(t *testing.T) {
	env := newEnv(t, envConfig{})
	var log bytes.Buffer
	c := env.client(t, registry.WithDebug(&log))
	ctx := t.Context()
	blob, d := pushRandom(t, c, 1000)
	if _, err := c.PushBlobStream(ctx, bytes.NewReader(blob[:500]), nil); err != nil {
		t.Fatal(err)
	}
	if err := c.PushBlob(ctx, bytes.NewReader(blob[:10]), 10, d); err == nil {
		t.Fatal("PushBlob of the wrong content: no error")
	}
	if _, _, err := c.GetManifest(ctx, "latest"); err == nil {
		t.Fatal("GetManifest of a missing tag: no error")
	}
	out := log.String()
	if len(env.tokens.tokens()) == 0 {
		t.Fatal("no token issued")
	}
	assertNoSecrets(t, "debug log", out, env)
	for _, want := range []string{
		"--> POST ", "401 Unauthorized", "--> GET " + env.reg.URL, "Authorization: REDACTED",
		"--> PATCH ", "201 Created", "404 Not Found", "fetching a token for repository:" + testRepo + ":pull,push",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the debug log lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
}

// assertNoSecrets fails if s shows the password, the Basic credentials, a
// token the endpoint issued, or an upload location's query.
func assertNoSecrets(t *testing.T, what, s string, env *testEnv) {
	t.Helper()
	secrets := map[string]string{
		"the password":          testPass,
		"the Basic credentials": base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPass)),
		"an upload's state":     "_state",
		"a query":               "?",
	}
	for i, tok := range env.tokens.tokens() {
		secrets["token "+string(rune('0'+i))] = tok
		// A JWT's signature alone is as secret.
		secrets["token signature "+string(rune('0'+i))] = tok[strings.LastIndex(tok, ".")+1:]
	}
	for name, secret := range secrets {
		if strings.Contains(s, secret) {
			t.Errorf("the %s shows %s", what, name)
		}
	}
}

// pushedWithGets pushes blob, d, through a proxy in front of env's
// registry that answers the authorized GETs of a blob with answer, and
// returns the client and the proxy.
func pushedWithGets(t *testing.T, env *testEnv, blob []byte, d digest.Digest, answer http.HandlerFunc) (*registry.Client, *proxy) {
	t.Helper()
	p := newProxy(t, env.reg.URL, func(_ int, w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:") && r.Header.Get("Authorization") != "" {
			answer(w, r)
			return true
		}
		return false
	})
	c := newClient(t, p.URL)
	if err := c.PushBlob(t.Context(), bytes.NewReader(blob), int64(len(blob)), d); err != nil {
		t.Fatal(err)
	}
	return c, p
}

// TestRedirectDropsCredentials sends blob downloads to another host, as a
// registry in front of object storage does: the download must arrive
// there without the token, and the registry must never see Basic auth.
func TestRedirectDropsCredentials(t *testing.T) {
	env := newEnv(t, envConfig{})
	blob, d := randomBlob(t, 4096)
	storageAuth := testutil.NewHeaderLog("Authorization")
	storage := httptest.NewServer(storageAuth.Serve(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(blob)
	}))
	t.Cleanup(storage.Close)
	c, p := pushedWithGets(t, env, blob, d, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, storage.URL+"/blob?X-Signature=abc", http.StatusTemporaryRedirect)
	})
	rc, err := c.GetBlob(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	_ = rc.Close()
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("GetBlob through a redirect: %d bytes, %v", len(got), err)
	}
	if got := storageAuth.Seen(); len(got) != 1 || got[0] != "" {
		t.Errorf("storage got Authorization %q, want one request without", got)
	}
	for _, r := range p.seen() {
		if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Basic") {
			t.Errorf("%s %s reached the registry with Basic auth", r.Method, r.URL.Path)
		}
	}
}

// TestRedirectedDigestChecked checks GetBlob fails when the bytes that
// come back are not the blob's.
func TestRedirectedDigestChecked(t *testing.T) {
	env := newEnv(t, envConfig{})
	blob, d := randomBlob(t, 4096)
	c, _ := pushedWithGets(t, env, blob, d, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(append([]byte("tampered"), blob[8:]...))
	})
	rc, err := c.GetBlob(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	if _, err := io.ReadAll(rc); !errors.Is(err, registry.ErrDigestMismatch) {
		t.Errorf("reading tampered content = %v, want ErrDigestMismatch", err)
	}
}

// TestRegistryAsksForBasic checks a registry that challenges for Basic auth
// itself gets the credentials, then gets them up front.
func TestRegistryAsksForBasic(t *testing.T) {
	auths := testutil.NewHeaderLog("Authorization")
	srv := httptest.NewServer(auths.Serve(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != testUser || pass != testPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL)
	for range 2 {
		if ok, err := c.BlobExists(t.Context(), digest.FromString("x")); err != nil || !ok {
			t.Fatalf("BlobExists = %v, %v", ok, err)
		}
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPass))
	if got, want := auths.Seen(), []string{"", basic, basic}; !slices.Equal(got, want) {
		t.Errorf("Authorization sent: %q, want %q", got, want)
	}
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

func isAny(err error, targets []error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
