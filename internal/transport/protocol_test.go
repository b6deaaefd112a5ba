package transport_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// TestHTTP1AgainstH2Server checks that the transport speaks HTTP/1.1 to a
// TLS server that offers HTTP/2 (as registries do), and that the server
// does offer it: a client that asks for h2 there gets it.
func TestHTTP1AgainstH2Server(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	if !slices.Contains(srv.TLS.NextProtos, "h2") {
		t.Fatalf("the test server offers %v, not h2", srv.TLS.NextProtos)
	}
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	get := func(tr *http.Transport) (string, string) {
		t.Helper()
		// The transport's own TLS settings, whatever it offers in them,
		// with the test server's CA.
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.RootCAs = roots
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		seen, _ := io.ReadAll(resp.Body)
		return resp.Proto, string(seen)
	}
	h2 := http.DefaultTransport.(*http.Transport).Clone()
	if proto, _ := get(h2); proto != "HTTP/2.0" {
		t.Fatalf("a client asking for h2 got %s: the server does not offer it", proto)
	}
	if proto, seen := get(transport.New(0)); proto != "HTTP/1.1" || seen != "HTTP/1.1" {
		t.Errorf("the transport spoke %s (the server saw %s), want HTTP/1.1", proto, seen)
	}
}
