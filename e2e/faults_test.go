package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/faultproxy"
	"github.com/canonical/docker-charmcraft/registry/registrytest"
)

// faulty is a world whose Charmhub, storage and registry are reached
// through fault proxies.
type faulty struct {
	*world
	hubProxy, regProxy *faultproxy.Proxy
}

func newFaulty(t *testing.T) *faulty {
	t.Helper()
	w := newWorld(t)
	hubProxy, err := faultproxy.New(w.hub.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hubProxy.Close)
	return &faulty{world: w, hubProxy: hubProxy, regProxy: w.proxyRegistry(t)}
}

// retryTimeout is how long the plugin keeps trying a failing request in
// these tests, for faults that persist to end soon; the faults that pass
// need less.
const retryTimeout = 5 * time.Second

// proxiedEnv points the plugin at the proxies, with a short stall timeout,
// as the charm's owner.
func (f *faulty) proxiedEnv(extra ...string) []string {
	return f.env(ownerToken, append([]string{
		"CHARMCRAFT_STORE_API_URL=" + f.hubProxy.URL + "/api",
		"CHARMCRAFT_UPLOAD_URL=" + f.hubProxy.URL + "/storage",
		"CHARMCRAFT_REGISTRY_URL=" + f.regProxy.URL,
		"CHARMCRAFT_STALL_TIMEOUT=2s",
		"CHARMCRAFT_RETRY_TIMEOUT=" + retryTimeout.String(),
	}, extra...)...)
}

// checkBlobs fails if the registry holds a blob under a digest its bytes
// do not have, and returns how many blobs it holds.
func (w *world) checkBlobs(t *testing.T) int {
	t.Helper()
	root := filepath.Join(w.regDir, "docker", "registry", "v2", "blobs")
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "data" {
			return err
		}
		n++
		want := filepath.Base(filepath.Dir(path))
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != want {
			t.Errorf("the registry holds under sha256:%s a blob that hashes to %s", want, got)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	t.Logf("the registry holds %d blobs, each under its digest", n)
	return n
}

// noTrace fails if the output shows a stack trace or a secret.
func noTrace(t *testing.T, res result) {
	t.Helper()
	if strings.Contains(res.stderr, "goroutine ") || strings.Contains(res.stderr, "panic") {
		t.Errorf("the output shows a stack trace:\n%s", res)
	}
	noSecrets(t, res, ownerToken, exportedAuth(ownerToken, false))
}

// A fault scenario: rules on either proxy, and what the run must show.
type faultCase struct {
	name     string
	hub, reg []faultproxy.Rule
	ok       bool     // the upload must succeed
	stderr   []string // substrings of stderr
	// exports is how many times the image must be exported.
	exports int
	// revision: a failed run created a revision all the same, which the
	// plugin must flag (content corrupted on the way, which storage cannot
	// tell).
	revision bool
}

const (
	storageUpload = "/storage/unscanned-upload/"
	apiResources  = "/api/v1/charm/my-charm/resources"
	apiRevisions  = "/api/v1/charm/my-charm/resources/*/revisions"
	apiReview     = "/api/v1/charm/my-charm/resources/*/revisions/review"
)

// unavailable is a 503 asking to come back in a second.
var unavailable = faultproxy.Fault{Kind: faultproxy.Status, Code: 503, RetryAfter: "1"}

// TestFileUploadFaults uploads a file through every fault: it succeeds
// with the right content, or fails with a clear error after the retry
// budget, and never leaves a revision behind.
func TestFileUploadFaults(t *testing.T) {
	path, data := writeFile(t, "data.tar.gz", 3<<20)
	tests := []faultCase{
		{name: "storage resets mid-file", ok: true,
			hub:    []faultproxy.Rule{{Path: storageUpload, Times: 1, Fault: faultproxy.ResetAfter(1 << 20)}},
			stderr: []string{"retrying POST /storage/unscanned-upload/"}},
		{name: "503 with Retry-After 3 times on every request", ok: true,
			hub: []faultproxy.Rule{
				{Path: storageUpload, Times: 3, Fault: unavailable},
				{Method: "GET", Path: apiResources, Times: 3, Fault: unavailable},
				{Method: "GET", Path: apiReview, Times: 3, Fault: unavailable},
			},
			stderr: []string{"retrying POST /storage/unscanned-upload/ after 1s", "retrying GET /api/v1/charm/my-charm/resources/my-file/revisions/review after 1s"}},
		{name: "503 then recovers", ok: true,
			hub:    []faultproxy.Rule{{Path: apiResources, Times: 2, Fault: faultproxy.Fail(503)}},
			stderr: []string{"retrying GET /api/v1/charm/my-charm/resources", "503 Service Unavailable"}},
		{name: "429 with Retry-After", ok: true,
			hub:    []faultproxy.Rule{{Path: storageUpload, Times: 1, Fault: faultproxy.Fault{Kind: faultproxy.Status, Code: 429, RetryAfter: "1"}}},
			stderr: []string{"retrying POST /storage/unscanned-upload/ after 1s"}},
		{name: "storage answer cut short", ok: true,
			hub:    []faultproxy.Rule{{Path: storageUpload, Times: 1, Fault: faultproxy.Fault{Kind: faultproxy.TruncateAnswer, Bytes: 5}}},
			stderr: []string{"retrying POST /storage/unscanned-upload/"}},
		{name: "storage stalls past the timeout", ok: true,
			hub:    []faultproxy.Rule{{Path: storageUpload, Times: 1, Fault: faultproxy.Fault{Kind: faultproxy.StallAnswer, Delay: time.Minute}}},
			stderr: []string{"retrying POST /storage/unscanned-upload/"}},
		{name: "review stalls past the timeout", ok: true,
			hub: []faultproxy.Rule{{Path: apiReview, Times: 1, Fault: faultproxy.StallFor(time.Minute)}}},
		{name: "503 for ever",
			hub:    []faultproxy.Rule{{Path: apiResources, Fault: faultproxy.Fail(503)}},
			stderr: []string{"Charmhub is temporarily unavailable", "and kept failing after ", " attempts"}},
		{name: "storage resets for ever",
			hub:    []faultproxy.Rule{{Path: storageUpload, Fault: faultproxy.ResetAfter(100_000)}},
			stderr: []string{`uploading "data.tar.gz" to Charmhub storage`, " attempts)"}},
		{name: "storage stalls for ever",
			hub:    []faultproxy.Rule{{Path: storageUpload, Fault: faultproxy.Fault{Kind: faultproxy.StallAnswer, Delay: time.Minute}}},
			stderr: []string{"no progress for 2s", " attempts)"}},
		{name: "upload cut short",
			hub:    []faultproxy.Rule{{Path: storageUpload, Fault: faultproxy.Fault{Kind: faultproxy.TruncateRequest, Bytes: 1 << 20}}},
			stderr: []string{"Charmhub refused the request: 400 Bad Request"}},
		{name: "revision answer lost",
			hub:    []faultproxy.Rule{{Method: "POST", Path: apiRevisions, Fault: faultproxy.Fault{Kind: faultproxy.TruncateAnswer, Bytes: 0}}},
			stderr: []string{"creating a revision of resource"}},
		{name: "revision answer stalls",
			hub:    []faultproxy.Rule{{Method: "POST", Path: apiRevisions, Fault: faultproxy.Fault{Kind: faultproxy.StallAnswer, Delay: time.Minute}}},
			stderr: []string{"creating a revision of resource", "no progress for 2s"}},
		{name: "content corrupted on the way", revision: true,
			hub:    []faultproxy.Rule{{Path: storageUpload, Fault: faultproxy.Fault{Kind: faultproxy.CorruptRequest, Bytes: 2 << 20}}},
			stderr: []string{"charmhub holds other content than was uploaded", "\nDo not release revision 1; upload the file again.", hexSum(data)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFaulty(t)
			f.hubProxy.Add(tt.hub...)
			start := time.Now()
			res := dockerCmd(t, f.proxiedEnv(), "charmcraft", "upload-resource", "my-charm", "my-file", "--filepath", path, "--debug")
			t.Logf("exit %d after %s, %d requests faulted", res.code, time.Since(start).Round(time.Millisecond), f.hubProxy.Faulted())
			if f.hubProxy.Faulted() == 0 {
				t.Fatal("no fault was injected")
			}
			revs := f.hub.Revisions("my-charm", "my-file")
			switch {
			case tt.ok && (res.code != 0 || res.stdout != "Revision 1 created of resource 'my-file' for charm 'my-charm'\n"):
				t.Errorf("want success; got %s", res)
			case tt.ok && (len(revs) != 1 || !bytes.Equal(revs[0].Content, data)):
				t.Errorf("%d revisions; want one holding the file's %d bytes", len(revs), len(data))
			case !tt.ok && (res.code != 1 || res.stdout != ""):
				t.Errorf("want exit 1 and nothing on stdout; got %s", res)
			case !tt.ok && len(revs) != 0 && !tt.revision:
				t.Errorf("%d revisions created by a failed upload", len(revs))
			}
			if n := f.hubProxy.Count("POST", apiRevisions); n > 1 {
				t.Errorf("%d revision requests: one was repeated", n)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(res.stderr, s) {
					t.Errorf("stderr lacks %q", s)
				}
			}
			noTrace(t, res)
			if t.Failed() || testing.Verbose() {
				t.Logf("%s", res)
			}
		})
	}
}

// forgetsSessions says whether the registry under test forgets an upload
// session whose chunk reached it but whose answer was lost: distribution
// 2 does.
func forgetsSessions() bool {
	k, _ := registrytest.KindFromEnv()
	return k == registrytest.Distribution2
}

func hexSum(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

const (
	regUploads  = "/v2/" + imageRepo + "/blobs/uploads/"
	regSession  = regUploads + "*"
	regManifest = "/v2/" + imageRepo + "/manifests/*"
)

// TestImageUploadFaults pushes an image through every fault: it arrives
// whole and right, or the run fails with a clear error, no revision is
// made, and the registry never holds a blob under a digest it does not
// have.
func TestImageUploadFaults(t *testing.T) {
	needDocker(t)
	id := buildImage(t, 505, layerSpec{size: 2 << 20, random: true}, layerSpec{size: 2 << 20})
	// Every layer is sent in chunks, each a PATCH. Distribution 2 forgets
	// an upload session asked about after a PATCH that reached it and
	// whose answer was lost (see registry's TestStreamsResume): there a
	// chunk broken midway costs an export of the image again; distribution
	// 3 goes on in the session.
	chunk := func(times int, fault faultproxy.Fault) []faultproxy.Rule {
		return []faultproxy.Rule{{Method: "PATCH", Times: times, Fault: fault}}
	}
	again := "The upload was interrupted; exporting the image again (attempt 2 of 3)"
	lost := forgetsSessions()
	tests := []faultCase{
		{name: "reset mid-chunk", ok: true, exports: map[bool]int{false: 1, true: 2}[lost],
			reg:    chunk(1, faultproxy.ResetAfter(256<<10)),
			stderr: []string{"asking the upload session where it stands"}},
		{name: "chunk cut short on the way", ok: true, exports: map[bool]int{false: 1, true: 2}[lost],
			reg:    chunk(1, faultproxy.Fault{Kind: faultproxy.TruncateRequest, Bytes: 256 << 10}),
			stderr: []string{"asking the upload session where it stands"}},
		{name: "chunk answer stalls past the timeout", ok: true, exports: map[bool]int{false: 1, true: 2}[lost],
			reg:    chunk(1, faultproxy.Fault{Kind: faultproxy.StallAnswer, Delay: time.Minute}),
			stderr: []string{"asking the upload session where it stands"}},
		{name: "upload session lost", ok: true, exports: 2,
			reg: []faultproxy.Rule{{Method: "PATCH", Times: 1, Fault: faultproxy.Fail(503)},
				{Method: "GET", Path: regSession, Times: 1, Fault: faultproxy.Fault{Kind: faultproxy.Status, Code: 404,
					Body: `{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"blob upload unknown to registry"}]}`}}},
			stderr: []string{again}},
		// Each kind of request is answered 503 once (the waits add up, as
		// most requests follow one another), a chunk three times.
		{name: "503 with Retry-After on every request, 3 times on a chunk", ok: true, exports: 1,
			reg: []faultproxy.Rule{
				{Method: "POST", Path: regUploads, Times: 1, Fault: unavailable},
				{Method: "PATCH", Times: 3, Fault: unavailable},
				{Method: "PUT", Path: regSession, Times: 1, Fault: unavailable},
				{Method: "HEAD", Times: 1, Fault: unavailable},
				{Method: "PUT", Path: regManifest, Times: 1, Fault: unavailable},
				{Method: "GET", Path: regManifest, Times: 1, Fault: unavailable},
			},
			hub: []faultproxy.Rule{
				{Method: "POST", Path: "/api/v1/charm/my-charm/resources/my-image/oci-image/blob", Times: 1, Fault: unavailable},
				{Method: "GET", Path: "/api/v1/charm/my-charm/resources/my-image/oci-image/upload-credentials", Times: 1, Fault: unavailable},
			},
			stderr: []string{"retrying POST ", "retrying HEAD ", "retrying PUT ", "asking the upload session where it stands after 1s",
				"retrying POST /api/v1/charm/my-charm/resources/my-image/oci-image/blob after 1s"}},
		{name: "503 on the manifest push", ok: true, exports: 1,
			reg:    []faultproxy.Rule{{Method: "PUT", Path: regManifest, Times: 1, Fault: faultproxy.Fail(503)}},
			stderr: []string{"retrying PUT "}},
		// Distribution 3 keeps what arrived of each chunk: every attempt
		// goes further, which is progress, and the upload ends whole.
		{name: "resets for ever", ok: !lost, exports: map[bool]int{false: 1, true: 3}[lost],
			reg:    chunk(0, faultproxy.ResetAfter(256<<10)),
			stderr: []string{map[bool]string{false: "the session holds ", true: "gave up after 3 exports"}[lost]}},
		{name: "wrong digest for a blob", exports: 1,
			reg:    []faultproxy.Rule{{Method: "PUT", Path: regSession, Fault: faultproxy.Fault{Kind: faultproxy.SetHeader, Header: "Docker-Content-Digest", Value: "sha256:" + strings.Repeat("0", 64)}}},
			stderr: []string{"content does not match its digest", "sha256:" + strings.Repeat("0", 64)}},
		{name: "wrong digest for the manifest", exports: 1,
			reg:    []faultproxy.Rule{{Method: "PUT", Path: regManifest, Fault: faultproxy.Fault{Kind: faultproxy.SetHeader, Header: "Docker-Content-Digest", Value: "sha256:" + strings.Repeat("1", 64)}}},
			stderr: []string{"pushing the image manifest", "content does not match its digest"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFaulty(t)
			f.hubProxy.Add(tt.hub...)
			f.regProxy.Add(tt.reg...)
			start := time.Now()
			res := dockerCmd(t, f.proxiedEnv(), "charmcraft", "upload-resource", "my-charm", "my-image", "--image", id, "--debug")
			t.Logf("exit %d after %s", res.code, time.Since(start).Round(time.Millisecond))
			if f.hubProxy.Faulted()+f.regProxy.Faulted() == 0 {
				t.Fatal("no fault was injected")
			}
			revs := f.hub.Revisions("my-charm", "my-image")
			m := remoteDigestRE.FindStringSubmatch(res.stderr)
			switch {
			case tt.ok && (res.code != 0 || m == nil || res.stdout != "Revision 1 created of resource 'my-image' for charm 'my-charm'\n"):
				t.Errorf("want success; got %s", res)
			case tt.ok:
				checkSameImage(t, f.pull(t, imageRepo, m[1]), id, m[1])
				if got := f.storedImageName(); !strings.HasSuffix(got, "@"+m[1]) || len(revs) != 1 {
					t.Errorf("%d revisions, the last naming %q", len(revs), got)
				}
			case res.code != 1 || res.stdout != "":
				t.Errorf("want exit 1 and nothing on stdout; got %s", res)
			case len(revs) != 0:
				t.Errorf("%d revisions created by a failed upload", len(revs))
			}
			for _, s := range tt.stderr {
				if !strings.Contains(res.stderr, s) {
					t.Errorf("stderr lacks %q", s)
				}
			}
			if n := 1 + strings.Count(res.stderr, "exporting the image again"); n != tt.exports {
				t.Errorf("the image was exported %d times, want %d", n, tt.exports)
			}
			if n := f.checkBlobs(t); tt.ok && n == 0 {
				t.Error("the upload succeeded, yet the registry holds no blob")
			}
			noTrace(t, res)
			if t.Failed() || testing.Verbose() {
				t.Logf("%s", res)
			}
		})
	}
}

// TestImageTokenFirst: the plugin asks the registry for its challenge
// while Charmhub is asked for the credentials, so that none of its
// requests but that first one is answered 401: each goes with a token.
func TestImageTokenFirst(t *testing.T) {
	needDocker(t)
	id := buildImage(t, 506, layerSpec{size: 64 << 10, random: true})
	f := newFaulty(t)
	res := dockerCmd(t, f.proxiedEnv(), "charmcraft", "upload-resource", "my-charm", "my-image", "--image", id)
	if res.code != 0 {
		t.Fatalf("want success; got %s", res)
	}
	var ours []faultproxy.Request
	for _, r := range f.regProxy.Settled(5 * time.Second) {
		if strings.HasPrefix(r.Header.Get("User-Agent"), "docker-charmcraft/") { // not the daemon's push
			ours = append(ours, r)
		}
	}
	if len(ours) < 2 || ours[0].Method != "GET" || ours[0].Path != "/v2/" || ours[0].Status != http.StatusUnauthorized {
		t.Fatalf("the plugin's first request to the registry is not the challenge's GET /v2/: %+v", ours)
	}
	for _, r := range ours[1:] {
		if r.Status == http.StatusUnauthorized {
			t.Errorf("%s %s answered 401: it went without a token", r.Method, r.Path)
		}
	}
}
