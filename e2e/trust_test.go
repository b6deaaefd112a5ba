package e2e

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/imagepush"
	"github.com/canonical/docker-charmcraft/internal/faultproxy"
	"github.com/opencontainers/go-digest"
)

// TestImageRecordPlanted: a record pointed, with the charm's upload
// credentials, at a manifest with the image's config and its two layers
// exchanged is not used by a fresh runner: --debug says why, the revision
// names the image's own manifest, and the record is made right.
func TestImageRecordPlanted(t *testing.T) {
	needDocker(t)
	skipOnContainerd(t)
	w := newWorld(t)
	id := buildImage(t, 2301, layerSpec{size: 1 << 20, random: true}, layerSpec{size: 1 << 20, random: true})
	res, remote := w.uploadImage(t, id)
	if remote == "" {
		t.Fatalf("first upload: %s", res)
	}
	resp := w.registryGet(t, imageRepo, "/manifests/"+remote, "application/vnd.docker.distribution.manifest.v2+json")
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	layers := m["layers"].([]any)
	layers[0], layers[1] = layers[1], layers[0]
	swapped, _ := json.Marshal(m)
	w.registryPut(t, "/manifests/"+imagepush.RecordTag(digest.Digest(id)), resp.Header.Get("Content-Type"), swapped)

	res = dockerCmd(t, w.env(ownerToken, "CHARMCRAFT_CACHE_DIR="+t.TempDir()), "--debug", "charmcraft", "upload-resource", "my-charm", "my-image", "--image", id)
	again := w.remoteOf(t, res)
	switch {
	case again != remote:
		t.Fatalf("upload with a planted record: digest %q, want %s\n%s", again, remote, res)
	case !strings.Contains(res.stderr, "is not the image's layer 1"):
		t.Errorf("--debug does not say why the record was not used:\n%s", res.stderr)
	}
	w.pull(t, imageRepo, again) // every layer gunzips to its diff ID
	if got, _ := w.recordOf(t, id); got != remote {
		t.Errorf("the record names %s, want %s", got, remote)
	}
}

// TestImageCacheSwapped: two layer entries of the cache exchanged by
// hand, with no record to read, are dropped by the next upload (--debug
// says so): the revision names the image's own manifest, and nothing is
// sent again.
func TestImageCacheSwapped(t *testing.T) {
	needDocker(t)
	skipOnContainerd(t)
	w := newWorld(t)
	reg := w.countRegistry(t)
	env := []string{"CHARMCRAFT_REGISTRY_URL=" + reg.url}
	id := buildImage(t, 2302, layerSpec{size: 1 << 20, random: true}, layerSpec{size: 1 << 20, random: true})
	res, remote := w.uploadImage(t, id, env...)
	if remote == "" {
		t.Fatalf("first upload: %s", res)
	}
	var inspect []struct{ RootFS struct{ Layers []string } }
	if err := json.Unmarshal([]byte(dockerCmd(t, nil, "image", "inspect", id).stdout), &inspect); err != nil || len(inspect) != 1 {
		t.Fatalf("docker image inspect %s: %v", id, err)
	}
	var paths []string
	for _, l := range inspect[0].RootFS.Layers {
		found, _ := filepath.Glob(filepath.Join(w.cacheDir, "layers", "*", digest.Digest(l).Encoded()))
		if len(found) != 1 {
			t.Fatalf("cache entries of layer %s: %v", l, found)
		}
		paths = append(paths, found[0])
	}
	a, _ := os.ReadFile(paths[0])
	b, _ := os.ReadFile(paths[1])
	for i, content := range [][]byte{b, a} {
		if err := os.WriteFile(paths[i], content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	reg.p.Add(faultproxy.Rule{Method: "GET", Path: "/v2/" + imageRepo + "/manifests/charmcraft-image-*", Fault: faultproxy.Fail(404)})
	before := reg.blobBytes()

	res = dockerCmd(t, w.env(ownerToken, env...), "--debug", "charmcraft", "upload-resource", "my-charm", "my-image", "--image", id)
	again := w.remoteOf(t, res)
	switch {
	case again != remote:
		t.Fatalf("upload with swapped cache entries: digest %q, want %s\n%s", again, remote, res)
	case strings.Count(res.stderr, "dropped the cache entry") != 2:
		t.Errorf("--debug does not say the two entries were dropped:\n%s", res.stderr)
	case reg.blobBytes() != before:
		t.Errorf("%d blob bytes sent, want none", reg.blobBytes()-before)
	}
	w.pull(t, imageRepo, again)
}

// TestImageCacheUnsafe: a cache directory that others may write is not
// used, with a warning that says how to fix it; the upload succeeds.
func TestImageCacheUnsafe(t *testing.T) {
	needDocker(t)
	w := newWorld(t)
	if err := os.Chmod(w.cacheDir, 0o777); err != nil {
		t.Fatal(err)
	}
	id := buildImage(t, 2303, layerSpec{size: 1 << 20, random: true})
	res, remote := w.uploadImage(t, id)
	if remote == "" {
		t.Fatalf("upload: %s", res)
	}
	want := "Not using the layer cache: the layer cache directory " + w.cacheDir + " is not safe to trust: it is writable by its group or by others"
	if !strings.Contains(res.stderr, want) || !strings.Contains(res.stderr, "CHARMCRAFT_CACHE_DIR") {
		t.Errorf("stderr does not warn of the cache directory:\n%s", res.stderr)
	}
	if entries, _ := os.ReadDir(w.cacheDir); len(entries) != 0 {
		t.Errorf("the cache directory was written: %d entries", len(entries))
	}
}
