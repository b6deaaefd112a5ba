package dockersave

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/mediatype"
	"github.com/canonical/docker-charmcraft/internal/testutil"
	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
)

var layouts = []struct {
	name    string
	fixture func(testing.TB) fixture
}{
	{"legacy", legacyFixture},
	{"docker25", docker25Fixture},
}

func build(t testing.TB, fx fixture, store BlobStore, opts ...Option) *Result {
	t.Helper()
	res, err := Build(t.Context(), bytes.NewReader(fx.save), store, opts...)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return res
}

func TestBuild(t *testing.T) {
	for _, tc := range layouts {
		t.Run(tc.name, func(t *testing.T) {
			fx := tc.fixture(t)
			for _, opts := range [][]Option{{WithImage(fx.imageID, fx.diffIDs)}, nil} {
				store := newMemStore()
				res := build(t, fx, store, opts...)
				checkResult(t, fx, store, res)
				if res.BytesPushed != store.bytes {
					t.Errorf("BytesPushed = %d, the store received %d", res.BytesPushed, store.bytes)
				}
				if got := len(store.blobs); got != fx.blobs+1 {
					t.Errorf("the store holds %d blobs, want %d layers and the config", got, fx.blobs)
				}
			}
		})
	}
}

// checkResult checks the remote manifest against the fixture and what the
// store received.
func checkResult(t *testing.T, fx fixture, store *memStore, res *Result) {
	t.Helper()
	if res.Digest != digest.FromBytes(res.Manifest) {
		t.Errorf("Digest %s is not the manifest's %s", res.Digest, digest.FromBytes(res.Manifest))
	}
	if cfg, _ := store.get(res.Config.Digest); !bytes.Equal(cfg, fx.config) {
		t.Errorf("the pushed config differs from the image's")
	}
	checkSchema2(t, fx, res)
	if len(res.Layers) != len(fx.diffIDs) {
		t.Fatalf("%d layers, want %d", len(res.Layers), len(fx.diffIDs))
	}
	for i, l := range res.Layers {
		b, ok := store.get(l.Digest)
		if !ok || int64(len(b)) != l.Size {
			t.Fatalf("layer %d: blob %s (%d bytes) not in the store", i, l.Digest, l.Size)
		}
		if got := diffIDOf(t, b); got != fx.diffIDs[i] || l.DiffID != got {
			t.Errorf("layer %d: decompresses to %s, Result says %s, want %s", i, got, l.DiffID, fx.diffIDs[i])
		}
	}
}

func checkSchema2(t *testing.T, fx fixture, res *Result) {
	t.Helper()
	if res.MediaType != mediatype.DockerManifest || bytes.HasSuffix(res.Manifest, []byte("\n")) {
		t.Errorf("MediaType %q, manifest ends with %q", res.MediaType, res.Manifest[len(res.Manifest)-1:])
	}
	var m schema2
	dec := json.NewDecoder(bytes.NewReader(res.Manifest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("manifest %s: %v", res.Manifest, err)
	}
	wantCfg := schema2Blob{MediaType: mediatype.DockerConfig, Size: int64(len(fx.config)), Digest: fx.imageID}
	if m.SchemaVersion != 2 || m.MediaType != mediatype.DockerManifest || m.Config != wantCfg || len(m.Layers) != len(fx.diffIDs) {
		t.Fatalf("manifest %s", res.Manifest)
	}
	for i, l := range m.Layers {
		want := schema2Blob{MediaType: mediatype.DockerLayer, Size: res.Layers[i].Size, Digest: res.Layers[i].Digest}
		if l != want {
			t.Errorf("layer %d: %+v, want %+v", i, l, want)
		}
	}
}

// diffIDOf decompresses a gzip layer blob and checks it is a tar.
func diffIDOf(t *testing.T, blob []byte) digest.Digest {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		t.Fatalf("layer is not gzip: %v", err)
	}
	var tarBytes bytes.Buffer
	tr := tar.NewReader(io.TeeReader(r, &tarBytes))
	for {
		if _, err := tr.Next(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("layer is not a tar: %v", err)
		}
	}
	_, _ = io.Copy(&tarBytes, r)
	return digest.FromBytes(tarBytes.Bytes())
}

func TestBuildDeterministic(t *testing.T) {
	for _, tc := range layouts {
		t.Run(tc.name, func(t *testing.T) {
			fx := tc.fixture(t)
			first := build(t, fx, newMemStore())
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			second := build(t, fx, newMemStore())
			if first.Digest != second.Digest || !bytes.Equal(first.Manifest, second.Manifest) {
				t.Errorf("two runs gave %s and %s", first.Digest, second.Digest)
			}
		})
	}
}

func TestBuildTwiceSameRegistry(t *testing.T) {
	for _, tc := range layouts {
		t.Run(tc.name, func(t *testing.T) {
			fx := tc.fixture(t)
			store := newMemStore()
			first := build(t, fx, store)
			before := store.bytes
			second := build(t, fx, store)
			if second.Digest != first.Digest {
				t.Errorf("digest changed: %s then %s", first.Digest, second.Digest)
			}
			if second.BytesPushed != store.bytes-before {
				t.Errorf("BytesPushed = %d, the store received %d", second.BytesPushed, store.bytes-before)
			}
		})
	}
}

func TestBuildCache(t *testing.T) {
	fx := docker25Fixture(t)
	store, cache := newMemStore(), &mapCache{}
	comp := &countingCompressor{Compressor: Gzip(DefaultGzipLevel)}
	first := build(t, fx, store, WithCache(cache), WithCompressor(comp))
	if comp.n != 3 || cache.puts != 3 {
		t.Fatalf("first run: %d layers compressed, %d cached; want 3 and 3", comp.n, cache.puts)
	}
	comp.n = 0
	second := build(t, fx, store, WithCache(cache), WithCompressor(comp))
	if comp.n != 0 || second.BytesPushed != 0 || second.Digest != first.Digest {
		t.Errorf("cached run: %d layers compressed, %d bytes pushed, digest %s (was %s)", comp.n, second.BytesPushed, second.Digest, first.Digest)
	}
	for i, l := range second.Layers {
		if l.Pushed || l.DiffID != fx.diffIDs[i] {
			t.Errorf("layer %d: %+v", i, l)
		}
	}
	comp.n = 0
	third := build(t, fx, newMemStore(), WithCache(cache), WithCompressor(comp))
	if comp.n != 3 || third.Digest != first.Digest {
		t.Errorf("cache hits the registry lacks: %d layers compressed, digest %s", comp.n, third.Digest)
	}
}

func TestBuildProgress(t *testing.T) {
	fx := legacyFixture(t)
	var events []Event
	res := build(t, fx, newMemStore(), WithProgress(func(e Event) { events = append(events, e) }))
	last := map[string]Event{}
	for _, e := range events {
		prev, seen := last[e.Name]
		switch {
		case !seen && e.Kind != Preparing:
			t.Errorf("%s: first event %v", e.Name, e.Kind)
		case seen && (prev.Kind == Pushed || e.Done < prev.Done || e.Done > e.Total):
			t.Errorf("%s: %+v after %+v", e.Name, e, prev)
		}
		last[e.Name] = e
	}
	pushing := 0
	for _, e := range events {
		if e.Kind == Pushing {
			pushing++
		}
	}
	if len(last) != len(res.Layers) || pushing == 0 {
		t.Errorf("%d layers reported, %d Pushing events, for %d layers", len(last), pushing, len(res.Layers))
	}
	for name, e := range last {
		if e.Kind != Pushed || e.DiffID == "" || e.Digest == "" {
			t.Errorf("%s: last event %+v", name, e)
		}
	}
}

func TestBuildPushError(t *testing.T) {
	store := newMemStore()
	store.failAll = errors.New("registry on fire")
	_, err := Build(t.Context(), bytes.NewReader(legacyFixture(t).save), store)
	if err == nil || !strings.HasPrefix(err.Error(), "pushing layer ") || !strings.Contains(err.Error(), "registry on fire") {
		t.Errorf("got %v", err)
	}
}

func TestBuildCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Build(ctx, bytes.NewReader(legacyFixture(t).save), newMemStore())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// TestDependencies keeps the package a library: no CLI, no HTTP, none of
// the project's packages but the shared media types, memory budget and
// upload resume key.
func TestDependencies(t *testing.T) {
	for _, dep := range testutil.Deps(t, ".") {
		for _, banned := range []string{"github.com/spf13/cobra", "github.com/docker/cli", "net/http", "github.com/canonical/docker-charmcraft/"} {
			if strings.HasPrefix(dep, banned) && !strings.HasSuffix(dep, "/dockersave") && !strings.HasSuffix(dep, "/internal/mediatype") && !strings.HasSuffix(dep, "/internal/membudget") && !strings.HasSuffix(dep, "/internal/resumekey") {
				t.Errorf("dockersave depends on %s", dep)
			}
		}
	}
}
