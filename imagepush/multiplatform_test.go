package imagepush_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/imagepush"
	"github.com/opencontainers/go-digest"
)

// The multiplatform and incomplete fixtures are what Docker 26.1.5 with
// the containerd store said of an index for linux/amd64 and linux/arm64,
// each with a buildx-style attestation manifest, loaded from an OCI
// layout; in incomplete, the arm64 image and its attestation were left
// out of the layout, as a pull of one platform leaves them. The stand-in
// daemon cannot push, so these are pushed from their export.

// indexEntries reads the index d from the registry.
func indexEntries(t *testing.T, w *world, d digest.Digest) []struct {
	Digest   digest.Digest `json:"digest"`
	Platform struct{ Architecture string }
} {
	t.Helper()
	_, body, err := w.client(t).GetManifest(t.Context(), d.String())
	if err != nil {
		t.Fatalf("the registry does not hold %s: %v", d, err)
	}
	if digest.FromBytes(body) != d {
		t.Fatalf("the registry's %s hashes to %s", d, digest.FromBytes(body))
	}
	var idx struct {
		Manifests []struct {
			Digest   digest.Digest `json:"digest"`
			Platform struct{ Architecture string }
		} `json:"manifests"`
	}
	if err := json.Unmarshal(body, &idx); err != nil {
		t.Fatal(err)
	}
	return idx.Manifests
}

func TestPushIndexFromExport(t *testing.T) {
	w, fx := newWorld(t), loadFixture(t, "multiplatform")
	d := newDaemon(fx)
	id := digest.Digest(fx.inspect.ID)

	r := push(t, w, d, short(id.String()))
	wantKinds(t, r, cold)
	if r.res.Digest != id || r.res.Strategy != imagepush.StrategyExport {
		t.Fatalf("remote %s by %q, want the index %s by export", r.res.Digest, r.res.Strategy, id)
	}
	var archs []string
	for _, p := range r.res.Platforms {
		archs = append(archs, p.String())
	}
	if strings.Join(archs, " ") != "linux/amd64 linux/arm64" {
		t.Errorf("platforms %v, want linux/amd64 linux/arm64 (attestations are none)", archs)
	}
	entries := indexEntries(t, w, id)
	if len(entries) != 4 {
		t.Fatalf("the index lists %d manifests, want 4", len(entries))
	}
	for _, e := range entries {
		if _, _, err := w.client(t).GetManifest(t.Context(), e.Digest.String()); err != nil {
			t.Errorf("manifest %s (%s) of the index: %v", e.Digest, e.Platform.Architecture, err)
		}
	}
	goarchs, err := imagepush.RemoteArchs(t.Context(), w.client(t), id)
	if err != nil || strings.Join(goarchs, " ") != "amd64 arm64 unknown unknown" {
		t.Errorf("RemoteArchs = %v, %v", goarchs, err)
	}

	// Again: the registry has it, nothing is exported.
	saves := d.saves.Load()
	wantKinds(t, push(t, w, d, full(id.String())), reused)
	if d.saves.Load() != saves {
		t.Error("the index was exported again")
	}

	// One platform: its own manifest, which the registry has now.
	arm := entries[1]
	r = push(t, w, d, full(id.String()), imagepush.WithPlatforms([]imagepush.Platform{{OS: "linux", Architecture: "arm64"}}))
	wantKinds(t, r, already)
	if r.res.Digest != arm.Digest {
		t.Errorf("--platform linux/arm64: remote %s, want %s", r.res.Digest, arm.Digest)
	}
}

func TestPushIncompleteIndexRefused(t *testing.T) {
	w, fx := newWorld(t), loadFixture(t, "incomplete")
	id := fx.inspect.ID

	r := push(t, w, newDaemon(fx), full(id))
	var inc *imagepush.IncompleteError
	if !errors.As(r.err, &inc) || len(inc.Present) != 1 || len(inc.Missing) != 1 || inc.Missing[0].Architecture != "arm64" {
		t.Fatalf("Push = %v, want an IncompleteError with linux/arm64 missing", r.err)
	}
	if ok, err := w.client(t).ManifestExists(t.Context(), digest.Digest(id)); ok || err != nil {
		t.Errorf("the registry holds the incomplete index (%v)", err)
	}

	r = push(t, w, newDaemon(fx), full(id), imagepush.WithPlatforms([]imagepush.Platform{{OS: "linux", Architecture: "amd64"}}))
	if r.err != nil || len(r.res.Platforms) != 1 || r.res.Platforms[0].Architecture != "amd64" {
		t.Fatalf("--platform linux/amd64: %+v, %v", r.res, r.err)
	}
	if _, _, err := w.client(t).GetManifest(t.Context(), r.res.Digest.String()); err != nil {
		t.Errorf("the amd64 manifest %s is not in the registry: %v", r.res.Digest, err)
	}
}
