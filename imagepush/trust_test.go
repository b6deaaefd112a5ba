package imagepush_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/dockersave"
	"github.com/canonical/docker-charmcraft/imagepush"
	"github.com/canonical/docker-charmcraft/internal/faultproxy"
	"github.com/opencontainers/go-digest"
)

// checkLayers reads back every layer of the manifest d and checks that
// it decompresses, in order, to the diff IDs of fx's config: what a
// runtime checks when it unpacks the image.
func checkLayers(t *testing.T, w *world, d digest.Digest, fx fixture) {
	t.Helper()
	c, layers := w.client(t), remoteLayers(t, w, d)
	want := fx.inspect.RootFS.Layers
	if len(layers) != len(want) {
		t.Fatalf("%d layers, want %d", len(layers), len(want))
	}
	for i, l := range layers {
		rc, err := c.GetBlob(t.Context(), l.Digest)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dockersave.LayerDiffID(l.MediaType, rc)
		_ = rc.Close()
		if err != nil || got.String() != want[i] {
			t.Errorf("layer %d (%s) has diff ID %s (%v), want %s", i+1, l.Digest, got, err, want[i])
		}
	}
}

// remoteLayers are the layers of the manifest d in the registry.
func remoteLayers(t *testing.T, w *world, d digest.Digest) []dockersave.Descriptor {
	t.Helper()
	_, body, err := w.client(t).GetManifest(t.Context(), d.String())
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Layers []dockersave.Descriptor }
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	return m.Layers
}

// hideRecords has the registry answer 404 to every record read: the
// push then goes by the cache, or computes the manifest.
func (w *world) hideRecords() {
	w.proxy.Add(faultproxy.Rule{Method: "GET", Path: w.path("manifests/charmcraft-image-*"), Fault: faultproxy.Fail(404)})
}

// swapLayerEntries exchanges the cache entries of the two layers of fx,
// as a hand (or a bad restore of a CI cache) could.
func swapLayerEntries(t *testing.T, dir string, fx fixture) {
	t.Helper()
	var paths []string
	for _, id := range fx.inspect.RootFS.Layers {
		found, err := filepath.Glob(filepath.Join(dir, "layers", "*", digest.Digest(id).Encoded()))
		if err != nil || len(found) != 1 {
			t.Fatalf("cache entries of layer %s: %v, %v", id, found, err)
		}
		paths = append(paths, found[0])
	}
	tmp := paths[0] + ".swap"
	for _, r := range [][2]string{{paths[0], tmp}, {paths[1], paths[0]}, {tmp, paths[1]}} {
		if err := os.Rename(r[0], r[1]); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPushCacheSwapped: two layer entries exchanged in the cache, with
// every blob in the registry and no record to read, are noticed and
// dropped: the image is read again, and its manifest, the right one, is
// found in the registry. Before entries named their layer, the cache's
// manifest, with its layers in the wrong order, was pushed.
func TestPushCacheSwapped(t *testing.T) {
	for _, layout := range []string{"legacy", "oci"} {
		t.Run(layout, func(t *testing.T) {
			w, fx, cache := newWorld(t), loadFixture(t, layout), newCache(t)
			var dropped []string
			cache.Err = func(err error) { dropped = append(dropped, err.Error()) }
			d := newDaemon(fx)
			first := push(t, w, d, full(fx.inspect.ID), imagepush.WithCache(cache))
			wantKinds(t, first, cold)
			swapLayerEntries(t, cache.Dir(), fx)
			w.hideRecords()
			manifests := w.proxy.Count("PUT", w.path("manifests/sha256:*"))

			again := push(t, w, d, full(fx.inspect.ID), imagepush.WithCache(cache))
			wantKinds(t, again, already)
			wantSaves(t, d, 2)
			if again.res.Digest != first.res.Digest {
				t.Errorf("pushed as %s, first as %s", again.res.Digest, first.res.Digest)
			}
			if n := w.proxy.Count("PUT", w.path("manifests/sha256:*")); n != manifests {
				t.Errorf("%d manifests pushed, want none", n-manifests)
			}
			checkLayers(t, w, again.res.Digest, fx)
			if len(dropped) != 2 || !strings.Contains(dropped[0], "dropped the cache entry") {
				t.Errorf("cache reports %q, want the two entries dropped", dropped)
			}
			// The entries were written again, right: the cache alone
			// settles the next push.
			wantKinds(t, push(t, w, d, full(fx.inspect.ID), imagepush.WithCache(cache)), reused)
			wantSaves(t, d, 2)
		})
	}
}

// TestPushRecordPlanted: a record pointed, by anyone with the charm's
// upload credentials, at a manifest with the image's config and its
// layers exchanged is not used, by a fresh machine nor by the one that
// pushed the image: its layers are checked against the image's diff IDs.
// The push finds the right manifest and makes the record right.
func TestPushRecordPlanted(t *testing.T) {
	w, fx := newWorld(t), loadFixture(t, "legacy")
	pusher := newCache(t)
	first := push(t, w, newDaemon(fx), full(fx.inspect.ID), imagepush.WithCache(pusher))
	wantKinds(t, first, cold)
	plantSwapped(t, w, fx, first.res.Digest)

	for _, c := range []struct {
		name  string
		cache func() imagepush.Option
	}{{"fresh machine", func() imagepush.Option { return imagepush.WithCache(newCache(t)) }},
		{"same machine", func() imagepush.Option { return imagepush.WithCache(pusher) }}} {
		t.Run(c.name, func(t *testing.T) {
			d := newDaemon(fx)
			r := push(t, w, d, full(fx.inspect.ID), c.cache())
			if r.err != nil {
				t.Fatal(r.err)
			}
			wantRecordEvents(t, r, "is not the image's layer 1", imagepush.RecordIgnored, imagepush.RecordSaved)
			if r.res.Digest != first.res.Digest {
				t.Errorf("pushed as %s, first as %s", r.res.Digest, first.res.Digest)
			}
			checkLayers(t, w, r.res.Digest, fx)
			wantRecord(t, w, fx.inspect.ID, first.res.Digest)
			plantSwapped(t, w, fx, first.res.Digest)
		})
	}
}

// plantSwapped pushes the manifest remote with its first two layers
// exchanged and points the record of fx's image at it.
func plantSwapped(t *testing.T, w *world, fx fixture, remote digest.Digest) {
	t.Helper()
	c := w.client(t)
	mt, body, err := c.GetManifest(t.Context(), remote.String())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	layers := m["layers"].([]any)
	layers[0], layers[1] = layers[1], layers[0]
	if body, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TagManifest(t.Context(), imagepush.RecordTag(digest.Digest(fx.inspect.ID)), mt, body); err != nil {
		t.Fatal(err)
	}
}
