package transport_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

const stall = 300 * time.Millisecond

// slowReader gives n bytes, a chunk every pause.
type slowReader struct {
	n, chunk int
	pause    time.Duration
}

func (r *slowReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.pause)
	k := min(len(p), r.chunk, r.n)
	r.n -= k
	return k, nil
}

func send(t *testing.T, url string, body io.Reader) (string, error) {
	t.Helper()
	method := http.MethodGet
	if body != nil {
		method = http.MethodPut
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: transport.New(stall)}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	return string(data), err
}

// hang waits until the client is gone, or long after it should be.
func hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(10 * stall):
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestStallsFail checks every way a server can go silent ends in a
// timeout soon after the stall limit.
func TestStallsFail(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		body    io.Reader
	}{
		{"no answer", func(_ http.ResponseWriter, r *http.Request) { hang(r) }, nil},
		{"body stalls", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			_, _ = io.WriteString(w, "half")
			w.(http.Flusher).Flush()
			hang(r)
		}, nil},
		{"upload not read", func(http.ResponseWriter, *http.Request) { time.Sleep(3 * stall) }, bytes.NewReader(make([]byte, 64<<20))},
		{"no answer after upload", func(_ http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			hang(r)
		}, strings.NewReader("some bytes")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			start := time.Now()
			_, err := send(t, srv.URL, tt.body)
			took := time.Since(start)
			if err == nil || !isTimeout(err) {
				t.Fatalf("got %v, want a timeout", err)
			}
			if !strings.Contains(err.Error(), "no progress for 300ms") {
				t.Errorf("error %q does not say the connection stalled", err)
			}
			if took > 10*stall {
				t.Errorf("took %s to notice a %s stall", took, stall)
			}
		})
	}
}

// TestLongTransfersAreNotCapped moves bytes for several stall periods,
// up and down, a little at a time: a tenth of the stall limit apart, so
// that a loaded machine does not make it look stalled.
func TestLongTransfersAreNotCapped(t *testing.T) {
	const limit = time.Second
	pause := limit / 10
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.(http.Flusher).Flush()
		for range 15 {
			_, _ = io.WriteString(w, "x")
			w.(http.Flusher).Flush()
			time.Sleep(pause)
		}
		_, _ = fmt.Fprint(w, n)
	}))
	t.Cleanup(srv.Close)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, srv.URL, &slowReader{n: 15 << 10, chunk: 1 << 10, pause: pause})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := (&http.Client{Transport: transport.New(limit)}).Do(req)
	if err != nil {
		t.Fatalf("a slow but moving upload failed after %s: %v", time.Since(start), err)
	}
	defer func() { _ = resp.Body.Close() }()
	got, err := io.ReadAll(resp.Body)
	if err != nil || string(got) != strings.Repeat("x", 15)+"15360" {
		t.Fatalf("a slow but moving download failed after %s: %q, %v", time.Since(start), got, err)
	}
	if took := time.Since(start); took < 2*limit {
		t.Errorf("took %s: the test did not outlast the stall limit", took)
	}
}

// TestDefaults checks the limits a caller gets without asking.
func TestDefaults(t *testing.T) {
	tr := transport.New(0)
	if tr.ResponseHeaderTimeout != transport.DefaultStallTimeout*5/4 || tr.TLSHandshakeTimeout != transport.TLSHandshakeTimeout ||
		tr.DialContext == nil || tr.Proxy == nil {
		t.Errorf("transport %+v", tr)
	}
	if tr.TLSClientConfig != nil && tr.TLSClientConfig.InsecureSkipVerify {
		t.Error("TLS verification is off")
	}
}

// TestNobodySkipsVerification keeps TLS verification on everywhere: no
// code of the module, tests aside, may turn it off.
func TestNobodySkipsVerification(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		data, err := os.ReadFile(path) //nolint:gosec // a file of this module
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte("InsecureSkipVerify")) {
			t.Errorf("%s turns TLS verification off", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
