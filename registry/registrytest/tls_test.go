package registrytest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testTLS is the TLS of the test matrix (scripts/matrix.sh), with a
// certs.d of the test's own; the test is skipped without it.
func testTLS(t *testing.T) *TLS {
	t.Helper()
	tl := &TLS{Host: os.Getenv(TLSHostEnv), CACert: os.Getenv(CAEnv), CAKey: os.Getenv(CAKeyEnv), CertsDir: t.TempDir()}
	if tl.Host == "" || tl.CACert == "" || tl.CAKey == "" {
		t.Skipf("no test CA: %s, %s and %s are set by scripts/matrix.sh", TLSHostEnv, CAEnv, CAKeyEnv)
	}
	return tl
}

// TestTLS runs each kind of registry over HTTPS: it is reached by its
// name with the CA alone, announces an HTTPS realm on the same name that
// reaches the token server, and tells the Docker daemons to trust the CA
// while it runs.
func TestTLS(t *testing.T) {
	tl := testTLS(t)
	caPEM, err := os.ReadFile(tl.CACert)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "token server: "+r.URL.Path+"?"+r.URL.RawQuery)
	}))
	defer tokens.Close()
	iss, err := NewTokenIssuer("charmhubtest", "registry.test")
	if err != nil {
		t.Fatal(err)
	}

	for _, kind := range []Kind{Embedded, Distribution2} {
		t.Run(string(kind), func(t *testing.T) {
			if kind == Distribution2 {
				if _, err := Distribution2Binary(); err != nil {
					t.Skip(err)
				}
			}
			reg, err := Start(Config{Kind: kind, TLS: tl, Realm: tokens.URL + "/registry/token", Issuer: iss})
			if err != nil {
				t.Fatal(err)
			}
			closed := false
			defer func() {
				if !closed {
					reg.Close()
				}
			}()
			if want := "https://" + tl.Host + ":"; !strings.HasPrefix(reg.URL, want) || reg.URL != "https://"+reg.Host {
				t.Fatalf("URL %q, Host %q: want %s<port>", reg.URL, reg.Host, want)
			}
			get := func(c *http.Client, url string) (*http.Response, string) {
				t.Helper()
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return resp, string(body)
			}

			resp, _ := get(client, reg.URL+"/v2/")
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("GET /v2/: %d, want 401", resp.StatusCode)
			}
			if kind == Embedded && resp.Proto != "HTTP/2.0" {
				t.Errorf("protocol %s, want HTTP/2.0 offered", resp.Proto)
			}
			challenge := resp.Header.Get("WWW-Authenticate")
			prefix := `Bearer realm="https://` + tl.Host + ":"
			if !strings.HasPrefix(challenge, prefix) {
				t.Fatalf("challenge %q: want %s<port>/registry/token", challenge, prefix)
			}
			realm := strings.TrimPrefix(challenge, `Bearer realm="`)
			realm = realm[:strings.IndexByte(realm, '"')]
			if _, body := get(client, realm+"?service=registry.test"); body != "token server: /registry/token?service=registry.test" {
				t.Errorf("realm %s answered %q, not the token server", realm, body)
			}

			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, reg.URL+"/v2/", nil)
			if _, err := http.DefaultClient.Do(req); err == nil || !errors.As(err, new(*tls.CertificateVerificationError)) {
				t.Errorf("a client without the CA: %v, want a certificate verification error", err)
			}

			trusted := filepath.Join(tl.CertsDir, reg.Host, "ca.crt")
			if b, err := os.ReadFile(trusted); err != nil || string(b) != string(caPEM) {
				t.Errorf("%s: %v, want the CA", trusted, err)
			}
			if kind == Embedded {
				reg.Stop()
				if err := reg.Start(); err != nil {
					t.Fatal(err)
				}
				if resp, _ := get(client, reg.URL+"/v2/"); resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("after a restart: %d, want 401", resp.StatusCode)
				}
			}
			reg.Close()
			closed = true
			if _, err := os.Stat(filepath.Dir(trusted)); !os.IsNotExist(err) {
				t.Errorf("%s left after Close: %v", filepath.Dir(trusted), err)
			}
		})
	}
}
