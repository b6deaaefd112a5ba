package faultproxy_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/faultproxy"
)

// echo answers with the size and sha256 of what it received, and a
// Digest header.
func echo(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		w.Header().Set("Digest", "right")
		_, _ = fmt.Fprintf(w, "%s %s %d %x", r.Method, r.URL.RequestURI(), len(data), sha256.Sum256(data)) //nolint:gosec // a test server
	}))
	t.Cleanup(srv.Close)
	return srv
}

func start(t *testing.T, target string, rules ...faultproxy.Rule) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	p.Add(rules...)
	return p
}

// answered is what do got back, besides the body.
type answered struct {
	StatusCode int
	Header     http.Header
}

func do(t *testing.T, method, url string, body []byte, chunked bool) (*answered, string, error) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
		if chunked {
			r = io.MultiReader(r)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, url, r)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	return &answered{resp.StatusCode, resp.Header}, string(data), err
}

func TestFaults(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 100_000)
	sum := func(b []byte) string { return fmt.Sprintf("%d %x", len(b), sha256.Sum256(b)) }
	corrupt := bytes.Clone(body)
	corrupt[500] ^= 0xff
	tests := []struct {
		name    string
		fault   faultproxy.Fault
		chunked bool
		check   func(t *testing.T, resp *answered, got string, err error)
	}{
		{"none", faultproxy.Fault{Kind: faultproxy.SetHeader, Header: "X", Value: "y"}, false, func(t *testing.T, resp *answered, got string, err error) {
			if err != nil || !strings.HasSuffix(got, sum(body)) || resp.Header.Get("Digest") != "right" {
				t.Errorf("got %q, %v", got, err)
			}
		}},
		{"status", faultproxy.Fault{Kind: faultproxy.Status, Code: 503, RetryAfter: "2"}, false, func(t *testing.T, resp *answered, got string, err error) {
			if err != nil || resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "2" || !strings.Contains(got, "injected") {
				t.Errorf("got %v %q, %v", resp, got, err)
			}
		}},
		{"reset", faultproxy.ResetAfter(1000), false, func(t *testing.T, _ *answered, got string, err error) {
			if err == nil {
				t.Errorf("got %q; want the connection dropped", got)
			}
		}},
		{"truncate request", faultproxy.Fault{Kind: faultproxy.TruncateRequest, Bytes: 1000}, false, func(t *testing.T, _ *answered, got string, err error) {
			if err != nil || !strings.HasSuffix(got, sum(body[:1000])) {
				t.Errorf("got %q, %v", got, err)
			}
		}},
		{"truncate chunked request", faultproxy.Fault{Kind: faultproxy.TruncateRequest, Bytes: 1000}, true, func(t *testing.T, _ *answered, got string, err error) {
			if err != nil || !strings.HasSuffix(got, sum(body[:1000])) {
				t.Errorf("got %q, %v", got, err)
			}
		}},
		{"corrupt", faultproxy.Fault{Kind: faultproxy.CorruptRequest, Bytes: 500}, false, func(t *testing.T, _ *answered, got string, err error) {
			if err != nil || !strings.HasSuffix(got, sum(corrupt)) {
				t.Errorf("got %q, %v", got, err)
			}
		}},
		{"truncate answer", faultproxy.Fault{Kind: faultproxy.TruncateAnswer, Bytes: 5}, false, func(t *testing.T, _ *answered, got string, err error) {
			if err == nil || got != "PUT /" {
				t.Errorf("got %q, %v; want 5 bytes and an error", got, err)
			}
		}},
		{"wrong header", faultproxy.Fault{Kind: faultproxy.SetHeader, Header: "Digest", Value: "wrong"}, false, func(t *testing.T, resp *answered, _ string, err error) {
			if err != nil || resp.Header.Get("Digest") != "wrong" {
				t.Errorf("got %v, %v", resp, err)
			}
		}},
		{"stall", faultproxy.StallFor(time.Minute), false, func(t *testing.T, _ *answered, _ string, err error) {
			if err == nil {
				t.Error("a stalled request got an answer")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := start(t, echo(t).URL, faultproxy.Rule{Method: "PUT", Path: "/x/*", Times: 1, Fault: tt.fault})
			resp, got, err := do(t, "PUT", p.URL+"/x/y?q=1", body, tt.chunked)
			tt.check(t, resp, got, err)
			// The fault is spent: the next request passes.
			if _, got, err := do(t, "PUT", p.URL+"/x/y?q=1", body, false); err != nil || got != "PUT /x/y?q=1 "+sum(body) {
				t.Errorf("second request: %q, %v", got, err)
			}
			if n := p.Faulted(); n != 1 {
				t.Errorf("%d requests faulted, want 1", n)
			}
		})
	}
}

func TestThrottleAndMatching(t *testing.T) {
	p := start(t, echo(t).URL,
		faultproxy.Rule{Path: "/slow", Fault: faultproxy.Throttle(100_000)},
		faultproxy.Rule{Method: "GET", After: 1, Times: 2, Fault: faultproxy.Fail(500)})
	begin := time.Now()
	if _, _, err := do(t, "POST", p.URL+"/slow", make([]byte, 50_000), false); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < 400*time.Millisecond {
		t.Errorf("50 kB at 100 kB/s took %s", took)
	}
	var codes []int
	for range 4 {
		resp, _, err := do(t, "GET", p.URL+"/", nil, false)
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, resp.StatusCode)
	}
	if fmt.Sprint(codes) != "[200 500 500 200]" {
		t.Errorf("statuses %v", codes)
	}
	if n := p.Count("GET", "/"); n != 4 {
		t.Errorf("Count = %d", n)
	}
}

// TestBodyBytes counts what clients send, sized or chunked, per pattern.
func TestBodyBytes(t *testing.T) {
	p := start(t, echo(t).URL)
	body := bytes.Repeat([]byte("x"), 100_000)
	for _, chunked := range []bool{false, true} {
		if _, _, err := do(t, http.MethodPatch, p.URL+"/v2/repo/blobs/uploads/1", body, chunked); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := do(t, http.MethodPut, p.URL+"/v2/repo/manifests/x", body[:10], false); err != nil {
		t.Fatal(err)
	}
	if got := p.BodyBytes("", "/v2/repo/blobs/uploads/*"); got != 200_000 {
		t.Errorf("blob uploads: %d bytes, want 200000", got)
	}
	if got := p.BodyBytes(http.MethodPut, ""); got != 10 {
		t.Errorf("PUTs: %d bytes, want 10", got)
	}
}

// TestServingTLS serves HTTPS by a name of the certificate: the target
// learns it from Host (to build its URLs), and a reset fault resets the
// TCP connection under TLS.
func TestServingTLS(t *testing.T) {
	// httptest's certificate holds example.com and 127.0.0.1.
	certSrv := httptest.NewTLSServer(http.NotFoundHandler())
	certSrv.Close()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Location", "https://"+r.Host+"/next")
	}))
	t.Cleanup(target.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p, err := faultproxy.New(target.URL, faultproxy.OnListener(ln),
		faultproxy.ServingTLS(&tls.Config{Certificates: certSrv.TLS.Certificates, MinVersion: tls.VersionTLS12}, "example.com"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if want := "https://example.com:" + port; p.URL != want {
		t.Fatalf("URL %s, want %s", p.URL, want)
	}
	roots := x509.NewCertPool()
	roots.AddCert(certSrv.Certificate())
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, ln.Addr().String())
		},
	}}
	resp, err := client.Get(p.URL + "/start")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got, want := resp.Header.Get("Location"), p.URL+"/next"; got != want {
		t.Errorf("Location %q, want %q", got, want)
	}
	p.Add(faultproxy.Rule{Method: "PUT", Fault: faultproxy.ResetAfter(1000)})
	req, _ := http.NewRequestWithContext(t.Context(), "PUT", p.URL+"/blob", bytes.NewReader(make([]byte, 100_000)))
	if resp, err := client.Do(req); err == nil {
		_ = resp.Body.Close()
		t.Fatalf("the reset fault answered %s", resp.Status)
	} else if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) && !errors.Is(err, net.ErrClosed) {
		// Which of the three the client sees depends on whether its
		// writer or its reader meets the reset first.
		t.Errorf("the reset fault gave %v, want a connection reset", err)
	}
	if n := p.Faulted(); n != 1 {
		t.Errorf("%d requests faulted, want 1", n)
	}
}
