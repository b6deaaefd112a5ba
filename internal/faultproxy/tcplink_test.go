package faultproxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/faultproxy"
)

// TestTCPLink checks that a TLS server offering HTTP/2 is reached through
// the link untouched (the client negotiates h2 with the server itself),
// that a new connection pays the handshake and each request the RTT, and
// that bodies pass no faster than the rate. Only lower bounds are
// asserted: a loaded machine can only make things slower.
func TestTCPLink(t *testing.T) {
	const rtt = 100 * time.Millisecond
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Proto", r.Proto)
		_, _ = io.WriteString(w, strings.Repeat("y", int(n)))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	l, err := faultproxy.ListenTCPLink("127.0.0.1:0", srv.Listener.Addr().String(), faultproxy.Link{RTT: rtt, Rate: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.ServerName = "example.com"
	client := &http.Client{Transport: tr}
	t.Cleanup(client.CloseIdleConnections)
	timed := func(body string) (time.Duration, *http.Response) {
		t.Helper()
		begin := time.Now()
		resp, err := client.Post("https://"+l.Addr+"/x", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if len(got) != len(body) {
			t.Fatalf("got %d bytes back, want %d", len(got), len(body))
		}
		return time.Since(begin), resp
	}
	// TCP handshake (1 RTT), TLS 1.3 handshake (1 RTT), the request (1 RTT).
	if took, resp := timed("a"); took < 3*rtt {
		t.Errorf("the first request took %s, want at least %s", took, 3*rtt)
	} else if resp.Proto != "HTTP/2.0" || resp.Header.Get("X-Proto") != "HTTP/2.0" {
		t.Errorf("negotiated %s (server saw %s), want HTTP/2.0 through the link", resp.Proto, resp.Header.Get("X-Proto"))
	}
	if took, _ := timed("a"); took < rtt {
		t.Errorf("a request on the open connection took %s, want at least %s", took, rtt)
	}
	const n = 512 << 10
	if took, _ := timed(strings.Repeat("x", n)); took < rtt+900*time.Millisecond {
		t.Errorf("512 KiB each way at 1 MiB/s took %s, want at least a second more than an RTT", took)
	}
	if up, down := l.Sent(); up < n || down < n || l.Conns() != 1 {
		t.Errorf("the link counted %d bytes up, %d down, %d connections; want over %d each way on 1", up, down, l.Conns(), n)
	}
}
