package e2e

import (
	"os"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/registry/registrytest"
)

// TestImageReupload uploads one image by its long ID, again by its long
// ID, then by its short ID, with a fresh layer cache each time on the last
// two as on a new CI runner, and then with the daemon out of reach by the
// remote digest: every upload succeeds with one remote digest, and only
// the first sends blobs. Distribution 2 answers a manifest check by a
// config digest (a classic store's image ID) with a 500: the plugin must
// never ask it that.
func TestImageReupload(t *testing.T) {
	needDocker(t)
	w := newWorld(t)
	reg := w.countRegistry(t)
	id := buildImage(t, 1010, layerSpec{size: 1 << 20, random: true}, layerSpec{size: 64 << 10})
	short := strings.TrimPrefix(id, "sha256:")[:12]

	var remote string
	for i, image := range []string{id, id, short} {
		before := reg.blobBytes()
		res, got := w.uploadImage(t, image, "CHARMCRAFT_REGISTRY_URL="+reg.url)
		sent := reg.blobBytes() - before
		t.Logf("upload %d (--image=%s): %d blob bytes sent", i+1, image, sent)
		switch {
		case got == "":
			t.Fatalf("upload %d (--image=%s): %s", i+1, image, res)
		case i == 0:
			remote = got
			if sent == 0 {
				t.Errorf("first upload sent no blob")
			}
			continue
		case got != remote:
			t.Errorf("upload %d: remote digest %s, want %s", i+1, got, remote)
		case sent != 0:
			t.Errorf("upload %d: %d blob bytes sent, want 0", i+1, sent)
		}
		if !strings.Contains(res.stderr, "Using the OCI image from Canonical's registry") && !strings.Contains(res.stderr, "Image already in Canonical's registry") {
			t.Errorf("upload %d does not say the image is in the registry already: %s", i+1, res)
		}
		if want := "Revision " + string(rune('1'+i)) + " created of resource 'my-image' for charm 'my-charm'\n"; res.stdout != want {
			t.Errorf("upload %d: stdout %q, want %q", i+1, res.stdout, want)
		}
		if i == 1 {
			if err := os.RemoveAll(w.cacheDir); err != nil {
				t.Fatal(err)
			}
		}
	}

	noDaemon := "DOCKER_HOST=unix:///nonexistent/docker.sock"
	res, got := w.uploadImage(t, remote, "CHARMCRAFT_REGISTRY_URL="+reg.url, noDaemon)
	if got != remote || !strings.Contains(res.stderr, "Using the OCI image from Canonical's registry") {
		t.Errorf("by remote digest, no daemon: %s", res)
	}

	// Without the daemon, a classic store's image ID can only be asked
	// about as a manifest: distribution 2 answers 500 for the config it
	// holds. The user reads what the digest is, not a bare 500. The 500 is
	// retried as any: a short budget, not the default 2 minutes.
	if containerdStore(t) {
		return
	}
	res, _ = w.uploadImage(t, id, noDaemon, "CHARMCRAFT_RETRY_TIMEOUT="+retryTimeout.String())
	switch {
	case res.code != 1 || strings.Contains(res.stderr, "internal server error to HEAD"):
		t.Errorf("by image ID, no daemon: %s", res)
	case w.reg.Kind == registrytest.Distribution2 && !strings.Contains(res.stderr, id+" is the digest of an image's config or of a layer in Canonical's registry, not of an image manifest"):
		t.Errorf("by image ID, no daemon, distribution 2: %s", res)
	case w.reg.Kind == registrytest.Embedded && !strings.Contains(res.stderr, "the local Docker daemon cannot be reached"):
		t.Errorf("by image ID, no daemon, distribution 3: %s", res)
	}
}
