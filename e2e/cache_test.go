package e2e

import (
	"strings"
	"testing"
)

// TestImageCache checks that a push does only the work it must: a warm
// run reads nothing out of the daemon and sends nothing; a run with the
// cache lost sends nothing; an image with one layer changed sends only
// that layer (and its new config).
func TestImageCache(t *testing.T) {
	needDocker(t)
	w := newWorld(t)
	daemon := recordDaemon(t)
	reg := w.countRegistry(t)
	base := []layerSpec{{size: 2 << 20, random: true}, {size: 2 << 20}, {size: 1 << 20, random: true}}
	id := buildImage(t, 171, base...)
	run := func(name, image string) string {
		t.Helper()
		before, saves := reg.blobBytes(), daemon.count("/images/get")
		res := dockerCmd(t, w.env(ownerToken, "CHARMCRAFT_REGISTRY_URL="+reg.url, "DOCKER_HOST="+daemon.host),
			"charmcraft", "upload-resource", "my-charm", "my-image", "--image", image)
		remote := w.remoteOf(t, res)
		if remote == "" {
			t.Fatalf("%s: %s", name, res)
		}
		t.Logf("%s: %d docker save, %d blob bytes sent", name, daemon.count("/images/get")-saves, reg.blobBytes()-before)
		return remote
	}
	sent := func(f func()) (int64, int) {
		before, saves := reg.blobBytes(), daemon.count("/images/get")
		f()
		return reg.blobBytes() - before, daemon.count("/images/get") - saves
	}

	var remote string
	cold, coldSaves := sent(func() { remote = run("cold", id) })
	if cold < 3<<20 || coldSaves != 1 {
		t.Errorf("cold: %d bytes sent with %d docker save; want the image, once", cold, coldSaves)
	}

	var warmRemote string
	warm, warmSaves := sent(func() { warmRemote = run("warm", id) })
	if warm != 0 || warmSaves != 0 || warmRemote != remote {
		t.Errorf("warm: %d bytes, %d docker save, digest %s; want 0, 0 and %s", warm, warmSaves, warmRemote, remote)
	}

	// Another runner, with a cache of its own, empty: the registry's
	// record of the image spares it the export too.
	cacheDir := w.cacheDir
	w.cacheDir = t.TempDir()
	var freshRemote string
	fresh, freshSaves := sent(func() { freshRemote = run("fresh cache", id) })
	if fresh != 0 || freshSaves != 0 || freshRemote != remote {
		t.Errorf("fresh cache: %d bytes sent, %d docker save, digest %s; want 0, 0 and %s", fresh, freshSaves, freshRemote, remote)
	}
	// The first runner again: its cache knows the layers that did not
	// change. (A runner that only reused an image through the record knows
	// them only on the OCI layout, where layers are named by diff ID: the
	// legacy layout's are known by fingerprints, which take an export.)
	w.cacheDir = cacheDir

	// The same layers but the second one: same files, same times.
	changed := []layerSpec{base[0], {size: 2 << 20, variant: 1}, base[2]}
	id2 := buildImage(t, 171, changed...)
	if id2 == id {
		t.Fatal("the changed image has the same ID")
	}
	var changedRemote string
	one, _ := sent(func() { changedRemote = run("one layer changed", id2) })
	p := w.pull(t, imageRepo, changedRemote)
	if want := p.manifest.Layers[1].Size + p.manifest.Config.Size; one != want {
		t.Errorf("one layer changed: %d bytes sent, want the changed layer and config: %d", one, want)
	}
	orig := w.pull(t, imageRepo, remote)
	if p.manifest.Layers[0].Digest != orig.manifest.Layers[0].Digest || p.manifest.Layers[1].Digest == orig.manifest.Layers[1].Digest {
		t.Errorf("layer digests: %v then %v", orig.manifest.Layers, p.manifest.Layers)
	}
	if !strings.HasPrefix(changedRemote, "sha256:") || changedRemote == remote {
		t.Errorf("changed image digest %s", changedRemote)
	}
}
