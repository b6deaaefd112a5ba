package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/imagepush"
	"github.com/canonical/docker-charmcraft/internal/faultproxy"
	"github.com/canonical/docker-charmcraft/registry/registrytest"
	"github.com/opencontainers/go-digest"
)

const reused = "Using the OCI image from Canonical's registry\n"

// recordOf is what the registry's record of a local image names ("" if
// there is none), and whether the repository's tag list shows it.
func (w *world) recordOf(t *testing.T, id string) (remote string, listed bool) {
	t.Helper()
	tag := imagepush.RecordTag(digest.Digest(id))
	var list struct{ Tags []string }
	if err := json.NewDecoder(w.registryGet(t, imageRepo, "/tags/list").Body).Decode(&list); err == nil {
		listed = slices.Contains(list.Tags, tag)
	}
	resp := w.registryGet(t, imageRepo, "/manifests/"+tag,
		"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json")
	if resp.StatusCode != http.StatusOK {
		return "", listed
	}
	body, _ := io.ReadAll(resp.Body)
	return digest.FromBytes(body).String(), listed
}

// registryPut puts body at path in the charm's repository, with a push
// token signed by the Charmhub test server's issuer.
func (w *world) registryPut(t *testing.T, path, contentType string, body []byte) {
	t.Helper()
	tok, err := w.hub.TokenIssuer().Issue("e2e", []registrytest.Access{{Type: "repository", Name: imageRepo, Actions: []string{"pull", "push"}}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, w.reg.URL+"/v2/"+imageRepo+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("PUT %s: %s %s", path, resp.Status, msg)
	}
}

// skipOnContainerd skips a test of the record on the containerd store,
// where an image ID is the digest of the manifest pushed: no record is
// needed, none is written.
func skipOnContainerd(t *testing.T) {
	t.Helper()
	if containerdStore(t) {
		t.Skip("the containerd store's image IDs are manifest digests: no record")
	}
}

// TestImageRecordFreshRunner: after one upload, a machine with no cache
// (a new CI runner) uploads the same image again with no docker save and
// no blob sent, saying only charmcraft's sentence for reuse.
func TestImageRecordFreshRunner(t *testing.T) {
	needDocker(t)
	w := newWorld(t)
	daemon := recordDaemon(t)
	reg := w.countRegistry(t)
	id := buildImage(t, 1201, layerSpec{size: 2 << 20, random: true}, layerSpec{size: 1 << 20})
	env := []string{"CHARMCRAFT_REGISTRY_URL=" + reg.url, "DOCKER_HOST=" + daemon.host}
	res, remote := w.uploadImage(t, id, env...)
	if remote == "" {
		t.Fatalf("first upload: %s", res)
	}
	got, listed := w.recordOf(t, id)
	if containerdStore(t) {
		if got != "" {
			t.Errorf("a record %s on the containerd store", got)
		}
	} else if got != remote || !listed {
		t.Errorf("the record names %q (listed: %v), want %s", got, listed, remote)
	}

	for _, short := range []bool{false, true} {
		if err := os.RemoveAll(w.cacheDir); err != nil {
			t.Fatal(err)
		}
		image := id
		if short {
			image = strings.TrimPrefix(id, "sha256:")[:12]
		}
		before, saves := reg.blobBytes(), daemon.count("/images/get")
		res, again := w.uploadImage(t, image, env...)
		sent, exported := reg.blobBytes()-before, daemon.count("/images/get")-saves
		t.Logf("fresh cache, --image=%s: %d docker save, %d blob bytes", image, exported, sent)
		if again != remote || sent != 0 || exported != 0 {
			t.Errorf("--image=%s: digest %s, %d bytes sent, %d docker save; want %s, 0, 0", image, again, sent, exported, remote)
		}
		if res.stderr != reused {
			t.Errorf("--image=%s: stderr %q, want %q alone", image, res.stderr, reused)
		}
	}
}

// TestImageRecordWrong: a record naming another image's manifest is not
// trusted: the image is pushed, --debug says why, and the record is made
// right.
func TestImageRecordWrong(t *testing.T) {
	needDocker(t)
	skipOnContainerd(t)
	w := newWorld(t)
	other := buildImage(t, 1202, layerSpec{size: 1 << 20, random: true})
	id := buildImage(t, 1203, layerSpec{size: 1 << 20, random: true})
	res, otherRemote := w.uploadImage(t, other)
	if otherRemote == "" {
		t.Fatalf("uploading the other image: %s", res)
	}
	resp := w.registryGet(t, imageRepo, "/manifests/"+otherRemote, "application/vnd.docker.distribution.manifest.v2+json")
	body, _ := io.ReadAll(resp.Body)
	w.registryPut(t, "/manifests/"+imagepush.RecordTag(digest.Digest(id)), resp.Header.Get("Content-Type"), body)

	res = dockerCmd(t, w.env(ownerToken, "CHARMCRAFT_CACHE_DIR="+t.TempDir()), "--debug", "charmcraft", "upload-resource", "my-charm", "my-image", "--image", id)
	remote := w.remoteOf(t, res)
	switch {
	case remote == "" || remote == otherRemote:
		t.Fatalf("upload with a wrong record: digest %q (the other image's: %s)\n%s", remote, otherRemote, res)
	case !strings.Contains(res.stderr, "not used, computing the remote manifest: the record names the manifest of another image"):
		t.Errorf("--debug does not say the record was not used:\n%s", res.stderr)
	}
	checkSameImage(t, w.pull(t, imageRepo, remote), id, remote)
	if got, _ := w.recordOf(t, id); got != remote {
		t.Errorf("the record names %s, want %s", got, remote)
	}
}

// TestImageRecordRefused: a registry that refuses the record's tag (403,
// 400) still takes the upload, which says nothing about it but in
// --debug; once the registry takes tags again, a machine with no cache
// computes the manifest with one docker save, sends nothing, and records
// it, and the next needs no export at all.
func TestImageRecordRefused(t *testing.T) {
	needDocker(t)
	skipOnContainerd(t)
	for i, code := range []int{403, 400} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			w := newWorld(t)
			daemon := recordDaemon(t)
			reg := w.countRegistry(t)
			reg.p.Add(faultproxy.Rule{Method: "PUT", Path: "/v2/" + imageRepo + "/manifests/charmcraft-image-*", Fault: faultproxy.Fail(code)})
			id := buildImage(t, 1204+uint64(i)*10, layerSpec{size: 1 << 20, random: true})
			env := []string{"CHARMCRAFT_REGISTRY_URL=" + reg.url, "DOCKER_HOST=" + daemon.host}
			res, remote := w.uploadImage(t, id, env...)
			if remote == "" || strings.Contains(res.stderr, "record") {
				t.Fatalf("upload with the record refused: %s", res)
			}
			if got, _ := w.recordOf(t, id); got != "" {
				t.Fatalf("a record %s, although refused", got)
			}
			res = dockerCmd(t, w.env(ownerToken, append(env, "CHARMCRAFT_CACHE_DIR="+t.TempDir())...), "--debug", "charmcraft", "upload-resource", "my-charm", "my-image", "--image", id)
			if w.remoteOf(t, res) != remote || !strings.Contains(res.stderr, "not saved (the next upload computes the manifest again)") ||
				!strings.Contains(res.stderr, fmt.Sprintf("registry answered %d", code)) {
				t.Errorf("--debug, the record refused again: %s", res)
			}

			reg.p.Clear()
			for n, wantSaves := range []int{1, 0} {
				before, saves := reg.blobBytes(), daemon.count("/images/get")
				res, again := w.uploadImage(t, id, append(env, "CHARMCRAFT_CACHE_DIR="+t.TempDir())...)
				sent, exported := reg.blobBytes()-before, daemon.count("/images/get")-saves
				if again != remote || sent != 0 || exported != wantSaves {
					t.Errorf("fresh runner %d: digest %s, %d bytes, %d docker save; want %s, 0, %d\n%s", n+1, again, sent, exported, remote, wantSaves, res)
				}
			}
			if got, _ := w.recordOf(t, id); got != remote {
				t.Errorf("the record names %q, want %s", got, remote)
			}
		})
	}
}

// otherCompressorConfig is a docker config directory whose plugin is
// built with another gzip level (see plugin.gzipLevel): a newer plugin
// whose compressor writes other bytes for the same layers.
var otherCompressorConfig = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "charmcraft-e2e-gzip6-")
	if err != nil {
		return "", err
	}
	_, thisFile, _, _ := runtime.Caller(0)
	cmd := exec.Command("go", "build", "-ldflags",
		"-X main.version=e2e-test -X github.com/canonical/docker-charmcraft/plugin.gzipLevel=6",
		"-o", filepath.Join(dir, "cli-plugins", "docker-charmcraft"), "./cmd/docker-charmcraft")
	cmd.Dir = filepath.Dir(filepath.Dir(thisFile))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w\n%s", err, out)
	}
	return dir, nil
})

// TestImageRecordCompressorChange: a plugin whose compressor differs
// (gzip level 6, not 3) uploads an image the first plugin pushed, with
// the cache the first one left and with none: it reuses the manifest in
// the registry, with no export and nothing sent. Without the record
// (refused) it would push another manifest, which the last part checks.
func TestImageRecordCompressorChange(t *testing.T) {
	needDocker(t)
	dir, err := otherCompressorConfig()
	if err != nil {
		t.Fatalf("building the plugin with gzip level 6: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	upload := func(w *world, id string, env ...string) (result, string) {
		t.Helper()
		res := execCmd(t, "docker", append(w.env(ownerToken), env...), "--config", dir, "charmcraft", "upload-resource", "my-charm", "my-image", "--image", id)
		return res, w.remoteOf(t, res)
	}
	w := newWorld(t)
	daemon := recordDaemon(t)
	reg := w.countRegistry(t)
	id := buildImage(t, 1206, layerSpec{size: 2 << 20}, layerSpec{size: 1 << 20})
	env := []string{"CHARMCRAFT_REGISTRY_URL=" + reg.url, "DOCKER_HOST=" + daemon.host}
	res, remote := w.uploadImage(t, id, env...)
	if remote == "" {
		t.Fatalf("first upload: %s", res)
	}
	for _, cache := range []string{w.cacheDir, t.TempDir()} {
		before, saves := reg.blobBytes(), daemon.count("/images/get")
		res, again := upload(w, id, append(env, "CHARMCRAFT_CACHE_DIR="+cache)...)
		sent, exported := reg.blobBytes()-before, daemon.count("/images/get")-saves
		t.Logf("gzip level 6, cache %s: %d docker save, %d blob bytes", cache, exported, sent)
		if again != remote || sent != 0 || exported != 0 || res.stderr != reused {
			t.Errorf("gzip level 6: digest %s, %d bytes, %d docker save; want %s, 0, 0\n%s", again, sent, exported, remote, res)
		}
	}

	if containerdStore(t) {
		return // the image's own manifest is pushed: no compression
	}
	bare := newWorld(t)
	refusing := bare.countRegistry(t)
	refusing.p.Add(faultproxy.Rule{Method: "PUT", Path: "/v2/" + imageRepo + "/manifests/charmcraft-image-*", Fault: faultproxy.Fail(403)})
	if _, first := bare.uploadImage(t, id, "CHARMCRAFT_REGISTRY_URL="+refusing.url); first != remote {
		t.Fatalf("pushed as %s, then as %s", remote, first)
	}
	if res, other := upload(bare, id, "CHARMCRAFT_REGISTRY_URL="+refusing.url); other == "" || other == remote {
		t.Errorf("without a record, gzip level 6 gave %q, want a manifest other than %s\n%s", other, remote, res)
	}
}

// TestImageRecordRace: two runners (two cache directories) upload the
// same new image at once: both succeed, with one remote manifest, which
// the record names.
func TestImageRecordRace(t *testing.T) {
	needDocker(t)
	w := newWorld(t)
	id := buildImage(t, 1207, layerSpec{size: 4 << 20, random: true}, layerSpec{size: 2 << 20})
	results := make([]result, 2)
	var wg sync.WaitGroup
	for i := range results {
		cache := t.TempDir()
		wg.Go(func() {
			results[i] = dockerCmd(t, w.env(ownerToken, "CHARMCRAFT_CACHE_DIR="+cache), "charmcraft", "upload-resource", "my-charm", "my-image", "--image", id)
		})
	}
	wg.Wait()
	var digests []string
	for i, res := range results {
		if res.code != 0 {
			t.Fatalf("runner %d: %s", i+1, res)
		}
		digests = append(digests, w.revisionDigest(t, i))
	}
	if digests[0] != digests[1] {
		t.Fatalf("two remote manifests: %s and %s", digests[0], digests[1])
	}
	checkSameImage(t, w.pull(t, imageRepo, digests[0]), id, digests[0])
	if got, _ := w.recordOf(t, id); !containerdStore(t) && got != digests[0] {
		t.Errorf("the record names %q, want %s", got, digests[0])
	}
}

// revisionDigest is the remote digest the i-th revision of my-image names.
func (w *world) revisionDigest(t *testing.T, i int) string {
	t.Helper()
	revs := w.hub.Revisions("my-charm", "my-image")
	if i >= len(revs) {
		t.Fatalf("%d revisions, want revision %d", len(revs), i+1)
	}
	var blob struct{ ImageName string }
	if err := json.Unmarshal(revs[i].Content, &blob); err != nil {
		t.Fatal(err)
	}
	_, d, _ := strings.Cut(blob.ImageName, "@")
	return d
}
