package e2e

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
	"github.com/canonical/docker-charmcraft/internal/faultproxy"
)

// The rule of the retries, through the real docker CLI, with the real
// default budget (no CHARMCRAFT_RETRY_TIMEOUT): what waiting cannot mend
// ends within seconds, what it can is retried for the budget after the
// last progress, and says so; each case asserts when it ends. A longer
// budget once turned such failures into silent hangs that tests with a
// shortened budget missed.

// ends runs the plugin with env and args and fails unless it exits 1
// within limit, with stderr holding each of want and no Go wording.
func ends(t *testing.T, limit time.Duration, env []string, want []string, args ...string) result {
	t.Helper()
	start := time.Now()
	res := dockerCmd(t, env, append([]string{"charmcraft"}, args...)...)
	took := time.Since(start)
	t.Logf("exit %d after %s", res.code, took.Round(time.Millisecond))
	if res.code != 1 || res.stdout != "" {
		t.Errorf("want exit 1 and nothing on stdout")
	}
	if took > limit {
		t.Errorf("ended after %s, want within %s", took.Round(time.Second), limit)
	}
	for _, w := range want {
		if !strings.Contains(res.stderr, w) {
			t.Errorf("stderr lacks %q", w)
		}
	}
	for _, goWords := range []string{"dial tcp", " attempts)", "goroutine "} {
		if strings.Contains(res.stderr, goWords) {
			t.Errorf("stderr shows %q", goWords)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("%s", res)
	}
	return res
}

// TestFailFastFirstContact: a service refused at the first contact, or
// whose name is unknown, ends after seconds, naming the service.
func TestFailFastFirstContact(t *testing.T) {
	w := newWorld(t)
	t.Run("refused", func(t *testing.T) {
		ends(t, 15*time.Second, w.env(ownerToken, "CHARMCRAFT_STORE_API_URL=http://127.0.0.1:1"),
			[]string{"Charmhub refused the connection; trying again for up to 5s\n",
				"Charmhub refused the connection while listing resources of charm 'my-charm'\n",
				"CHARMCRAFT_STORE_API_URL=http://127.0.0.1:1"},
			"resources", "my-charm")
	})
	t.Run("no such host", func(t *testing.T) {
		ends(t, 15*time.Second, w.env(ownerToken, "CHARMCRAFT_STORE_API_URL=https://charmhub.invalid"),
			[]string{"Charmhub cannot be found", "while listing resources of charm 'my-charm'"},
			"resources", "my-charm")
	})
}

// TestFailFastReviewWithoutRevision: a review approved without a revision
// number is an error quoting Charmhub's answer, never a success.
func TestFailFastReviewWithoutRevision(t *testing.T) {
	w := newWorld(t)
	w.hub.SetReview(charmhubtest.ReviewConfig{NoRevision: true})
	path, _ := writeFile(t, "data.bin", 1000)
	ends(t, 15*time.Second, w.env(ownerToken), []string{`gave no revision number ("revision": null)`},
		"upload-resource", "my-charm", "my-file", "--filepath", path)
}

// TestFailFastConfigDigest: with no daemon, an image ID the registry
// holds only as a config blob: distribution 2.8 answers 500 to the
// manifest asked under that digest, every time, which has only the grace.
// On the containerd store an image ID is a manifest digest: no such case.
func TestFailFastConfigDigest(t *testing.T) {
	needDocker(t)
	skipOnContainerd(t)
	id := buildImage(t, 2201, layerSpec{size: 64 << 10, random: true})
	w := newWorld(t)
	if res := dockerCmd(t, w.env(ownerToken), "charmcraft", "upload-resource", "my-charm", "my-image", "--image", id); res.code != 0 {
		t.Fatalf("pushing the image first: %s", res)
	}
	ends(t, 20*time.Second, w.env(ownerToken, "DOCKER_HOST=unix:///nonexistent/docker.sock"), nil,
		"upload-resource", "my-charm", "my-image", "--image", id)
}

// TestFailFastBudget: a service that answered before and then fails for
// good is retried for the default budget after the last progress, said
// in one line, and the command ends within 3 minutes of the start of
// the outage, whatever the number of requests it would make.
func TestFailFastBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the default retry budget")
	}
	t.Run("Charmhub gone after the file upload", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		path, _ := writeFile(t, "data.bin", 1<<20)
		// Charmhub's API behind a proxy that goes away, connections and
		// all, as the storage answers the upload.
		api := relay(t, w.hub.APIURL(), nil)
		storage := relay(t, w.hub.StorageURL(), func() {
			_ = api.Close()
			// For the plugin to see its idle connection closed, and
			// not send the revision's request on it.
			time.Sleep(300 * time.Millisecond)
		})
		env := w.env(ownerToken, "CHARMCRAFT_STORE_API_URL=http://"+api.Addr, "CHARMCRAFT_UPLOAD_URL=http://"+storage.Addr)
		ends(t, 3*time.Minute, env, []string{
			"Charmhub refused the connection; retrying for up to 2m0s (CHARMCRAFT_RETRY_TIMEOUT)\n",
			"Charmhub refused the connection while creating a revision of resource 'my-file' of charm 'my-charm'"},
			"upload-resource", "my-charm", "my-file", "--filepath", path)
		if n := len(w.hub.Revisions("my-charm", "my-file")); n != 0 {
			t.Errorf("%d revisions", n)
		}
	})
	t.Run("the registry answers 503 to everything", func(t *testing.T) {
		t.Parallel()
		needDocker(t)
		id := buildImage(t, 2202, layerSpec{size: 1 << 20, random: true}, layerSpec{size: 1 << 20, random: true}, layerSpec{size: 1 << 20, random: true})
		f := newFaulty(t)
		f.regProxy.Add(faultproxy.Rule{Fault: faultproxy.Fail(503)})
		env := f.env(ownerToken, "CHARMCRAFT_REGISTRY_URL="+f.regProxy.URL)
		res := ends(t, 3*time.Minute, env, []string{"Canonical's registry answered 503; retrying for up to "},
			"upload-resource", "my-charm", "my-image", "--image", id)
		if n := strings.Count(res.stderr, "answered 503; retrying"); n != 1 {
			t.Errorf("%d retry lines, want one for the episode", n)
		}
	})
}

// relay serves, on a loopback port of its own, a reverse proxy to target
// (a base URL), which calls answered, if not nil, before it passes on an
// answer.
func relay(t *testing.T, target string, answered func()) *http.Server {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	if answered != nil {
		rp.ModifyResponse = func(*http.Response) error {
			answered()
			return nil
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Addr: ln.Addr().String(), Handler: rp, ReadHeaderTimeout: time.Minute}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}
