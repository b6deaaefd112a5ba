package transport

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// failing answers 503 with Retry-After: 1 to the first n requests.
func failing(n int32) (*httptest.Server, *atomic.Int32) {
	var count atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if count.Add(1) <= n {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	return srv, &count
}

func roundTrip(ctx context.Context, t *testing.T, rt http.RoundTripper, method, url string) (*http.Response, int) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	req, n := CountAttempts(req)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp, int(n.Load())
}

// TestRetryLayer: 503 with Retry-After three times is waited out by a
// request that may be sent again, never by one that may not, nor by one
// whose caller owns its retries.
func TestRetryLayer(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		ctx      func(context.Context) context.Context
		attempts int
		status   int
	}{
		{"GET", http.MethodGet, nil, 4, 200},
		{"PUT", http.MethodPut, nil, 4, 200},
		{"POST", http.MethodPost, nil, 1, 503},
		{"POST marked WithReplay", http.MethodPost, WithReplay, 4, 200},
		{"GET marked NoRetry", http.MethodGet, NoRetry, 1, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, count := failing(3)
			t.Cleanup(srv.Close)
			clock := &fakeClock{now: time.Unix(1e9, 0)}
			var log strings.Builder
			rt := Stack(nil, Policy{Clock: clock}, "tester", NewLog(&log, "test"))
			ctx := t.Context()
			if tt.ctx != nil {
				ctx = tt.ctx(ctx)
			}
			resp, n := roundTrip(ctx, t, rt, tt.method, srv.URL+"/x?secret=1")
			if resp.StatusCode != tt.status || n != tt.attempts || int(count.Load()) != tt.attempts {
				t.Errorf("%d after %d attempts (%d requests), want %d after %d", resp.StatusCode, n, count.Load(), tt.status, tt.attempts)
			}
			for _, d := range clock.slept {
				if d != time.Second {
					t.Errorf("waited %s, want the Retry-After's 1s", d)
				}
			}
			if strings.Contains(log.String(), "secret") {
				t.Errorf("the log shows the query:\n%s", log.String())
			}
		})
	}
}

// TestRetryNotSent: a request that must not be sent twice is tried again
// when it never left, the server being out of reach.
func TestRetryNotSent(t *testing.T) {
	srv, _ := failing(0)
	url := srv.URL
	srv.Close()
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	rt := Stack(nil, Policy{Clock: clock, Attempts: 3}, "", nil)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader("body"))
	req, n := CountAttempts(req)
	if resp, err := rt.RoundTrip(req); err == nil {
		_ = resp.Body.Close()
		t.Fatal("no error from a closed server")
	}
	if n.Load() != 3 || len(clock.slept) != 2 {
		t.Errorf("%d attempts, %d waits; want 3 and 2", n.Load(), len(clock.slept))
	}
}

// TestRedaction: the debug log never shows a header that carries a
// secret, whatever its name's case.
func TestRedaction(t *testing.T) {
	h := http.Header{}
	for _, name := range []string{"Authorization", "Cookie", "X-Auth-Token", "Macaroons", "X-Password", "Client-Secret"} {
		h.Set(name, "s3cr3t")
	}
	h.Set("Accept", "application/json")
	if line := headerLine(h); strings.Contains(line, "s3cr3t") || !strings.Contains(line, "Accept: application/json") {
		t.Errorf("headerLine = %s", line)
	}
}
