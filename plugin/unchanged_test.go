package plugin

import (
	"bytes"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

// TestUploadFileChanged: a file written to during its upload, or
// replaced between two attempts, is not published: the upload fails
// with a sentence that says so, and no revision is created. Storage is
// reached through a proxy that changes the file at a chosen point of
// the body it receives.
func TestUploadFileChanged(t *testing.T) {
	const size = 16 << 20 // more than the socket buffers hold: the file is still being read
	rewrite := func(path string) {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err == nil {
			_, err = f.WriteAt(bytes.Repeat([]byte("y"), 4096), size/2)
			err = errors.Join(err, f.Close())
		}
		if err != nil {
			t.Error(err)
		}
	}
	replace := func(path string) {
		tmp := path + ".new"
		if err := os.WriteFile(tmp, bytes.Repeat([]byte("z"), size), 0o600); err != nil {
			t.Error(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Error(err)
		}
	}
	tests := []struct {
		name   string
		change func(string)
		// between: the first attempt is answered 502 once received, and
		// the file changed before the answer; else the file is changed
		// once 1 MiB of the first attempt is received.
		between bool
		why     string
	}{
		{"rewritten in place during the upload", rewrite, false, "it was written to"},
		{"rewritten in place between attempts", rewrite, true, "it was written to"},
		{"replaced between attempts", replace, true, "another file took its place"},
		{"grown during the upload", func(p string) { appendTo(t, p) }, false, "its size went from"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hub := newHub(t)
			path := writeTestFile(t, "data.bin", size)
			storage, _ := url.Parse(hub.StorageURL())
			fwd := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: storage.Scheme, Host: storage.Host})
			fwd.ErrorLog = log.New(io.Discard, "", 0) // the attempt cut short
			var attempts atomic.Int32
			proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if attempts.Add(1) > 1 || !strings.HasSuffix(r.URL.Path, "/unscanned-upload/") {
					fwd.ServeHTTP(w, r)
					return
				}
				if tc.between {
					_, _ = io.Copy(io.Discard, r.Body)
					tc.change(path)
					w.WriteHeader(http.StatusBadGateway)
					return
				}
				r.Body = &atOffset{r: r.Body, at: 1 << 20, do: func() { tc.change(path) }}
				fwd.ServeHTTP(w, r)
			}))
			t.Cleanup(proxy.Close)
			env := hubEnv(hub, ownerToken)
			env[uploadURLEnv] = proxy.URL + storage.Path

			res := run(t, env, "upload-resource", "my-charm", "my-file", "--filepath", path)
			if res.code == 0 || !strings.Contains(res.stderr, quotePath(path)+" changed during its upload ("+tc.why) ||
				!strings.Contains(res.stderr, "not published") {
				t.Errorf("got %s; want a refusal saying the file changed: %s", res, tc.why)
			}
			if n := hub.Count("POST", "/api/v1/charm/*/resources/*/revisions"); n != 0 {
				t.Errorf("%d revisions requested, want none", n)
			}
			if tc.between && attempts.Load() != 1 {
				t.Errorf("%d attempts reached storage, want the first alone", attempts.Load())
			}
		})
	}
}

// atOffset reads r and calls do, once, when at bytes have been read.
type atOffset struct {
	r    io.ReadCloser
	at   int64
	n    int64
	do   func()
	done bool
}

func (a *atOffset) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if a.n += int64(n); a.n >= a.at && !a.done {
		a.done = true
		a.do()
	}
	return n, err
}

func (a *atOffset) Close() error { return a.r.Close() }

func appendTo(t *testing.T, path string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		_, err = f.WriteString("more")
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		t.Error(err)
	}
}
