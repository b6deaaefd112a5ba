package dockersave

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// TestBuildCacheLegacy: the legacy layout names layers by v1 IDs, so the
// cache recognises them by fingerprint. A second Build of the same image
// compresses and pushes nothing; an image with one layer changed
// compresses only that layer.
func TestBuildCacheLegacy(t *testing.T) {
	store, cache := newMemStore(), &mapCache{}
	comp := &countingCompressor{Compressor: DefaultCompressor()}
	base := [][]byte{randomLayer(t), textLayer(t), emptyLayer(t)}
	fx, files := legacyWith(base, digests(base))
	fx.save = tarOf(t, files)
	first := build(t, fx, store, WithCache(cache), WithCompressor(comp))
	if comp.n != 3 {
		t.Fatalf("first run compressed %d layers, want 3", comp.n)
	}

	comp.n = 0
	again := build(t, fx, store, WithCache(cache), WithCompressor(comp))
	if comp.n != 0 || again.BytesPushed != 0 || again.Digest != first.Digest {
		t.Errorf("same image: %d layers compressed, %d bytes pushed, digest %s (was %s)", comp.n, again.BytesPushed, again.Digest, first.Digest)
	}

	changed := [][]byte{base[0], tarOf(t, []file{{name: "etc/app.conf", body: textBytes(9, 100<<10)}}), base[2]}
	fx2, files2 := legacyWith(changed, digests(changed))
	fx2.save = tarOf(t, files2)
	comp.n = 0
	before := store.bytes
	res := build(t, fx2, store, WithCache(cache), WithCompressor(comp))
	if comp.n != 1 {
		t.Errorf("one layer changed: %d layers compressed, want 1", comp.n)
	}
	if pushed := store.bytes - before; res.Layers[1].Size+int64(len(fx2.config)) != pushed {
		t.Errorf("one layer changed: %d bytes pushed, want the new layer (%d) and config (%d)", pushed, res.Layers[1].Size, len(fx2.config))
	}
	if res.Layers[0].Pushed || !res.Layers[1].Pushed || res.Layers[2].Pushed {
		t.Errorf("pushed flags %v %v %v, want only layer 2", res.Layers[0].Pushed, res.Layers[1].Pushed, res.Layers[2].Pushed)
	}
}

// TestBuildStaleFingerprint: two layers that start alike and have the same
// size but differ at the end share a fingerprint. The diff ID check
// catches it: Build fails with ErrStaleCache rather than reuse the wrong
// blob, and works again without the cache.
func TestBuildStaleFingerprint(t *testing.T) {
	body := textBytes(3, 200<<10)
	other := bytes.Clone(body)
	other[len(other)-1] ^= 1
	a := [][]byte{tarOf(t, []file{{name: "data", body: body}})}
	b := [][]byte{tarOf(t, []file{{name: "data", body: other}})}
	fxA, filesA := legacyWith(a, digests(a))
	fxA.save = tarOf(t, filesA)
	fxB, filesB := legacyWith(b, digests(b))
	fxB.save = tarOf(t, filesB)

	store, cache := newMemStore(), &mapCache{}
	build(t, fxA, store, WithCache(cache))
	_, err := Build(t.Context(), bytes.NewReader(fxB.save), store, WithCache(cache))
	if !errors.Is(err, ErrStaleCache) {
		t.Fatalf("Build with a fingerprint of another layer: %v, want ErrStaleCache", err)
	}
	res := build(t, fxB, store)
	if res.Layers[0].DiffID != fxB.diffIDs[0] {
		t.Errorf("without the cache: diff ID %s, want %s", res.Layers[0].DiffID, fxB.diffIDs[0])
	}
}

// TestFromCache rebuilds the remote manifest from the cache alone: the
// same bytes Build gave.
func TestFromCache(t *testing.T) {
	fx := legacyFixture(t)
	cache := &mapCache{}
	comp := DefaultCompressor()
	res := build(t, fx, newMemStore(), WithCache(cache))
	got, ok := FromCache(cache, comp.ID(), res.Config, fx.diffIDs)
	if !ok || !bytes.Equal(got.Manifest, res.Manifest) || got.Digest != res.Digest {
		t.Fatalf("FromCache = %v, %s; want Build's %s", ok, got.Manifest, res.Manifest)
	}
	if _, ok := FromCache(cache, "another-compressor", res.Config, fx.diffIDs); ok {
		t.Error("entries of another compressor were used")
	}
	if _, ok := FromCache(cache, comp.ID(), res.Config, append(fx.diffIDs, digests([][]byte{[]byte("x")})...)); ok {
		t.Error("an unknown layer was filled in")
	}
}

// TestCachedLayerProgress: a layer the cache knows and the registry has
// is read to check it, not pushed. Its events say so as docker push's do:
// Preparing, already under its diff ID (the classic store's save names it
// by a v1 ID of its own), then Layer already exists, with no Pushing bar
// in between.
func TestCachedLayerProgress(t *testing.T) {
	store, cache := newMemStore(), &mapCache{}
	layers := [][]byte{tarOf(t, []file{{name: "big", body: randomBytes(2, 3<<20)}}), textLayer(t)}
	fx, files := legacyWith(layers, digests(layers))
	fx.save = tarOf(t, files)
	build(t, fx, store, WithCache(cache))

	var events []Event
	build(t, fx, store, WithCache(cache), WithProgress(func(e Event) { events = append(events, e) }))
	kinds := map[string][]EventKind{}
	for _, e := range events {
		kinds[e.Name] = append(kinds[e.Name], e.Kind)
		if e.Kind == Preparing && !slices.Contains(digests(layers), e.DiffID) {
			t.Errorf("%s: Preparing under %q, not its diff ID", e.Name, e.DiffID)
		}
	}
	if len(kinds) != 2 {
		t.Fatalf("events for %d layers, want 2: %+v", len(kinds), events)
	}
	for name, k := range kinds {
		if !slices.Equal(k, []EventKind{Preparing, Exists}) {
			t.Errorf("%s: events %v, want Preparing then Layer already exists", name, k)
		}
	}
}
