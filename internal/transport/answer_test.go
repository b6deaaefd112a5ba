package transport_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/faultproxy"
	"github.com/canonical/docker-charmcraft/internal/transport"
)

// TestHeadersWithin: an answer whose headers trickle in a byte at a
// time, each well within the stall timeout, fails once AnswerWithin has
// passed since their first byte, with a *SlowError that says so; headers
// that come whole after a long think, or a body that takes its time,
// are no such failure.
func TestHeadersWithin(t *testing.T) {
	const within = 300 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/think" {
			time.Sleep(2 * within) // before the first byte
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(srv.Close)
	p, err := faultproxy.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	p.Add(faultproxy.Rule{Path: "/trickle", Fault: faultproxy.Fault{Kind: faultproxy.TrickleHeaders, Delay: 100 * time.Millisecond}},
		faultproxy.Rule{Path: "/slow-body", Fault: faultproxy.Fault{Kind: faultproxy.TrickleAnswer, Delay: within / 4}})
	policy := transport.Policy{Attempts: 1, AnswerWithin: within}
	c := &http.Client{Transport: transport.Stack(transport.New(10*within), policy, "test", nil)}
	get := func(path string) (string, error) {
		resp, err := c.Get(p.URL + path) //nolint:noctx // a test
		if err != nil {
			return "", err
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	start := time.Now()
	_, err = get("/trickle")
	slow, ok := errors.AsType[*transport.SlowError](err)
	if !ok || slow.What != "headers" || !strings.Contains(err.Error(), "the answer's headers did not arrive whole within 300ms of their first byte") {
		t.Fatalf("got %v, want the headers' *SlowError", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %s", took) // the headers take 100 ms a byte, some 100 of them
	}
	for _, path := range []string{"/think", "/slow-body"} {
		if body, err := get(path); err != nil || body != `{"ok":true}` {
			t.Errorf("%s: got %q, %v", path, body, err)
		}
	}
}

// TestReadAllWithin: an answer trickled a byte at a time, each in time
// to beat any stall timeout, ends at the deadline; one that comes whole
// in time is read whole.
func TestReadAllWithin(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/whole" {
			_, _ = w.Write([]byte(`{"token": "t"}`))
			return
		}
		for range 1000 {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
		}
	}))
	t.Cleanup(srv.Close)
	get := func(path string) *http.Response {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	start := time.Now()
	_, err := transport.ReadAllWithin(get("/trickle").Body, 64<<10, 200*time.Millisecond)
	if _, ok := errors.AsType[*transport.SlowError](err); !ok || time.Since(start) > 5*time.Second {
		t.Errorf("trickled: %v after %s, want a SlowError at 200ms", err, time.Since(start))
	}
	if transport.Cause(err) != "answered too slowly" {
		t.Errorf("Cause = %q", transport.Cause(err))
	}
	if data, err := transport.ReadAllWithin(get("/whole").Body, 64<<10, time.Second); err != nil || string(data) != `{"token": "t"}` {
		t.Errorf("whole: %q, %v", data, err)
	}
}
