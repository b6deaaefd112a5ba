package transport

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

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
	_, err := ReadAllWithin(get("/trickle").Body, 64<<10, 200*time.Millisecond)
	if _, ok := errors.AsType[*SlowError](err); !ok || time.Since(start) > 5*time.Second {
		t.Errorf("trickled: %v after %s, want a SlowError at 200ms", err, time.Since(start))
	}
	if Cause(err) != "answered too slowly" {
		t.Errorf("Cause = %q", Cause(err))
	}
	if data, err := ReadAllWithin(get("/whole").Body, 64<<10, time.Second); err != nil || string(data) != `{"token": "t"}` {
		t.Errorf("whole: %q, %v", data, err)
	}
}
