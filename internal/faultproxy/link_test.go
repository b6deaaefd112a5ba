package faultproxy_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/faultproxy"
)

// TestLink measures what the link costs: an RTT a request, one more for a
// new connection, and the bandwidth shared by the bodies.
func TestLink(t *testing.T) {
	const rtt = 100 * time.Millisecond
	p := start(t, echo(t).URL)
	p.SetLink(faultproxy.Link{RTT: rtt, Rate: 1 << 20})
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	timed := func(body string) time.Duration {
		t.Helper()
		begin := time.Now()
		resp, err := client.Post(p.URL+"/x", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return time.Since(begin)
	}
	if took := timed("a"); took < 2*rtt || took > 2*rtt+80*time.Millisecond {
		t.Errorf("the first request took %s, want an RTT and a handshake (%s)", took, 2*rtt)
	}
	if took := timed("a"); took < rtt || took > rtt+80*time.Millisecond {
		t.Errorf("a request on a connection reused took %s, want an RTT (%s)", took, rtt)
	}
	if took := timed(strings.Repeat("x", 512<<10)); took < rtt+450*time.Millisecond {
		t.Errorf("512 KiB at 1 MiB/s took %s, want at least half a second more than an RTT", took)
	}
	p.SetLink(faultproxy.Link{})
	if took := timed("a"); took > 50*time.Millisecond {
		t.Errorf("with no link, a request took %s", took)
	}
}

// TestRoute sends requests to their prefix's target, and rewrites the
// targets' URLs in the answers' headers to the proxy's.
func TestRoute(t *testing.T) {
	hub := echo(t)
	// A registry whose token realm is on the hub.
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Www-Authenticate", `Bearer realm="`+hub.URL+`/token",service="x"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(reg.Close)
	p := start(t, hub.URL)
	if err := p.Route("/v2/", reg.URL); err != nil {
		t.Fatal(err)
	}
	_, got, err := do(t, http.MethodGet, p.URL+"/api/x", nil, false)
	if err != nil || !strings.HasPrefix(got, "GET /api/x ") {
		t.Fatalf("default target: %q, %v", got, err)
	}
	resp, _, err := do(t, http.MethodGet, p.URL+"/v2/", nil, false)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("routed: %v, %v", resp, err)
	}
	if h := resp.Header.Get("Www-Authenticate"); h != `Bearer realm="`+p.URL+`/token",service="x"` {
		t.Errorf("WWW-Authenticate %q names a target, not the proxy", h)
	}
	if n := p.Count("", "/v2/"); n != 1 {
		t.Errorf("Count = %d", n)
	}
	p.ClearRequests()
	if n := len(p.Requests()); n != 0 {
		t.Errorf("%d requests after ClearRequests", n)
	}
}

// TestUnixSockets proxies a Unix socket to a Unix socket, as between a
// client and the Docker daemon.
func TestUnixSockets(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("unix", filepath.Join(dir, "target.sock"))
	if err != nil {
		t.Fatal(err)
	}
	target := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "daemon "+r.URL.Path)
	}))
	_ = target.Listener.Close()
	target.Listener = ln
	target.Start()
	t.Cleanup(target.Close)
	front, err := net.Listen("unix", filepath.Join(dir, "proxy.sock"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := faultproxy.New("unix://"+ln.Addr().String(), faultproxy.OnListener(front))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if want := "unix://" + front.Addr().String(); p.URL != want {
		t.Errorf("URL = %q, want %q", p.URL, want)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", front.Addr().String())
	}}}
	resp, err := client.Get("http://docker/v1.41/images/get")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if string(data) != "daemon /v1.41/images/get" {
		t.Errorf("answer %q", data)
	}
	reqs := p.Settled(5 * time.Second)
	if len(reqs) != 1 || reqs[0].End.Before(reqs[0].Start) || reqs[0].Status != http.StatusOK {
		t.Errorf("requests recorded: %+v", reqs)
	}
}
