package registry_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/mediatype"
	"github.com/canonical/docker-charmcraft/registry"
)

// failFirst answers the first n requests with status and retryAfter.
func failFirst(n, status int, retryAfter string) func(int, http.ResponseWriter, *http.Request) bool {
	return func(i int, w http.ResponseWriter, _ *http.Request) bool {
		if i > n {
			return false
		}
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		http.Error(w, `{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}`, status)
		return true
	}
}

// resetFirst drops the connection of the first n requests.
func resetFirst(n int) func(int, http.ResponseWriter, *http.Request) bool {
	return func(i int, w http.ResponseWriter, _ *http.Request) bool {
		if i > n {
			return false
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		_ = conn.(*net.TCPConn).SetLinger(0) // reset, not a clean close
		_ = conn.Close()
		return true
	}
}

func TestRetry(t *testing.T) {
	tests := []struct {
		name        string
		hook        func(int, http.ResponseWriter, *http.Request) bool
		wantStatus  int // 0: success
		wantHEADs   int
		wantRetries int
		minTime     time.Duration
	}{
		{name: "503 three times", hook: failFirst(3, 503, ""), wantHEADs: 4 + 1, wantRetries: 3},
		{name: "502 then fine", hook: failFirst(1, 502, ""), wantHEADs: 2 + 1, wantRetries: 1},
		{name: "429 with Retry-After", hook: failFirst(1, 429, "1"), wantHEADs: 2 + 1, wantRetries: 1, minTime: time.Second},
		{name: "connection reset", hook: resetFirst(2), wantHEADs: 3 + 1, wantRetries: 2},
		{name: "503 for ever", hook: failFirst(100, 503, "0"), wantStatus: 503, wantHEADs: 4, wantRetries: 3},
		{name: "Retry-After too long", hook: failFirst(100, 503, "3600"), wantStatus: 503, wantHEADs: 1},
		{name: "501 is final", hook: failFirst(100, 501, ""), wantStatus: 501, wantHEADs: 1},
		{name: "400 is final", hook: failFirst(100, 400, ""), wantStatus: 400, wantHEADs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, envConfig{})
			p := newProxy(t, env.reg.URL, tt.hook)
			var log bytes.Buffer
			c := newClient(t, p.URL, registry.WithDebug(&log))
			_, d := randomBlob(t, 10)
			start := time.Now()
			ok, err := c.BlobExists(t.Context(), d)
			took := time.Since(start)
			if tt.wantStatus == 0 && (err != nil || ok) {
				t.Errorf("BlobExists = %v, %v; want false, nil", ok, err)
			}
			var rerr *registry.Error
			if tt.wantStatus != 0 && (!errors.As(err, &rerr) || rerr.StatusCode != tt.wantStatus) {
				t.Errorf("BlobExists = %v, want a %d *registry.Error", err, tt.wantStatus)
			}
			if n := p.count(http.MethodHead); n != tt.wantHEADs {
				t.Errorf("the registry saw %d HEADs, want %d", n, tt.wantHEADs)
			}
			if n := strings.Count(log.String(), "retrying HEAD"); n != tt.wantRetries {
				t.Errorf("the debug log shows %d retries, want %d:\n%s", n, tt.wantRetries, log.String())
			}
			if took < tt.minTime {
				t.Errorf("took %s, want at least %s", took, tt.minTime)
			}
		})
	}
}

// TestRetryReplaysManifest checks a PUT of a manifest, whose body can be
// had again, is retried whole.
func TestRetryReplaysManifest(t *testing.T) {
	env := newEnv(t, envConfig{})
	var failed atomic.Bool
	p := newProxy(t, env.reg.URL, func(_ int, w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") && failed.CompareAndSwap(false, true) {
			http.Error(w, "", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	c := newClient(t, p.URL)
	config := []byte("{}")
	_, err := c.PushBlobStream(t.Context(), bytes.NewReader(config), nil)
	if err != nil {
		t.Fatal(err)
	}
	manifest := schema2(t, config)
	d, err := c.PushManifest(t.Context(), mediatype.DockerManifest, manifest)
	if err != nil {
		t.Fatalf("PushManifest: %v", err)
	}
	if !failed.Load() {
		t.Error("the manifest PUT did not fail once")
	}
	if _, body, err := c.GetManifest(t.Context(), d.String()); err != nil || !bytes.Equal(body, manifest) {
		t.Errorf("GetManifest = %q, %v; want %q", body, err, manifest)
	}
}

// TestChunkRetriedOnce checks a PATCH that keeps failing is sent again
// by the upload alone (the transport sends it once per attempt), and the
// error names the upload without its state and says how many attempts
// failed.
func TestChunkRetriedOnce(t *testing.T) {
	env := newEnv(t, envConfig{})
	p := newProxy(t, env.reg.URL, func(_ int, w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPatch {
			http.Error(w, "", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	c := newClient(t, p.URL)
	_, err := c.PushBlobStream(t.Context(), io.MultiReader(strings.NewReader("some bytes")), nil)
	var rerr *registry.Error
	if !errors.As(err, &rerr) || rerr.StatusCode != 503 || rerr.Method != http.MethodPatch || errors.Is(err, registry.ErrInterrupted) ||
		!strings.Contains(err.Error(), "(after 4 attempts)") {
		t.Fatalf("PushBlobStream = %v, want a 503 to the PATCH after 4 attempts", err)
	}
	if n := p.count(http.MethodPatch); n != 4 {
		t.Errorf("%d PATCH requests, want 4", n)
	}
	assertNoSecrets(t, "error", err.Error(), env)
	if !strings.HasPrefix(rerr.Path, "/v2/"+testRepo+"/blobs/uploads/") {
		t.Errorf("Path %q, want the upload's path", rerr.Path)
	}
}
