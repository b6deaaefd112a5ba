package imagepush_test

import (
	"archive/tar"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/imagepush"
	"github.com/canonical/docker-charmcraft/internal/faultproxy"
	"github.com/canonical/docker-charmcraft/internal/ocitest"
	"github.com/canonical/docker-charmcraft/layercache"
	"github.com/canonical/docker-charmcraft/registry/registrytest"
	"github.com/opencontainers/go-digest"
)

// pushArchive is one PushArchive, and what it said.
func pushArchive(t *testing.T, w *world, a imagepush.Archive, opts ...imagepush.Option) *run {
	t.Helper()
	r := &run{}
	opts = append(opts, imagepush.WithEvents(func(e imagepush.Event) { r.events = append(r.events, e) }))
	r.res, r.err = imagepush.PushArchive(t.Context(), w.client(t), a, opts...)
	return r
}

func writeArchive(t *testing.T, name string, spec ocitest.Spec) (imagepush.Archive, ocitest.Written) {
	t.Helper()
	file := filepath.Join(t.TempDir(), name)
	written, err := ocitest.WriteArchive(file, spec)
	if err != nil {
		t.Fatal(err)
	}
	return imagepush.Archive{Path: file}, written
}

func amd64Rock(seed uint64) ocitest.Spec {
	return ocitest.Spec{Images: []ocitest.Image{{Platform: "linux/amd64", Layers: []int64{3 << 20, 1000, 5 << 20}, Seed: seed, RefName: "1.0"}}}
}

func platformNames(ps []imagepush.Platform) []string {
	var names []string
	for _, p := range ps {
		names = append(names, p.String())
	}
	slices.Sort(names)
	return names
}

// pushed checks r pushed the manifest or index want and, when platforms
// are named, that it is for those.
func (r *run) pushed(t *testing.T, want digest.Digest, platforms ...string) {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.res.Digest != want {
		t.Errorf("pushed as %s, want %s", r.res.Digest, want)
	}
	if got := platformNames(r.res.Platforms); platforms != nil && !slices.Equal(got, platforms) {
		t.Errorf("platforms %v, want %v", got, platforms)
	}
}

func TestPushArchiveKeepsItsDigests(t *testing.T) {
	w := newWorld(t)
	a, written := writeArchive(t, "my rock_1.0_amd64.rock", amd64Rock(1))
	r := pushArchive(t, w, a)
	r.pushed(t, written.Top[0], "linux/amd64")
	if got, want := r.kinds(), []imagepush.EventKind{imagepush.Uploading, imagepush.Uploaded}; !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	if got := w.uploads(); got != 4 {
		t.Errorf("%d blob uploads, want 4 (3 layers and the config)", got)
	}
	for _, d := range written.Layers[0] {
		if ok, err := w.client(t).BlobExists(t.Context(), d); err != nil || !ok {
			t.Errorf("layer %s not in the registry (%v)", d, err)
		}
	}

	// The same archive again sends nothing.
	again := pushArchive(t, w, a)
	if again.err != nil {
		t.Fatal(again.err)
	}
	if got := again.kinds(); !slices.Equal(got, []imagepush.EventKind{imagepush.Reused}) {
		t.Errorf("events of the second push %v, want Reused alone", got)
	}
	if again.res.Digest != written.Top[0] || w.uploads() != 4 {
		t.Errorf("second push: digest %s, %d uploads in all; want %s and no new one", again.res.Digest, w.uploads(), written.Top[0])
	}
}

func TestPushArchiveSkipsBlobsTheRegistryHas(t *testing.T) {
	w := newWorld(t)
	first, _ := writeArchive(t, "a.rock", amd64Rock(2))
	if r := pushArchive(t, w, first); r.err != nil {
		t.Fatal(r.err)
	}
	spec := amd64Rock(2)
	spec.Images[0].Layers = append(spec.Images[0].Layers, 2<<20) // one more layer, and so a new config
	second, written := writeArchive(t, "b.rock", spec)
	before := w.uploads()
	r := pushArchive(t, w, second)
	r.pushed(t, written.Top[0])
	if got := w.uploads() - before; got != 2 {
		t.Errorf("%d blob uploads, want 2 (the new layer and config)", got)
	}
}

func TestPushLayoutDirectory(t *testing.T) {
	w := newWorld(t)
	dir := filepath.Join(t.TempDir(), "my layout")
	written, err := ocitest.WriteLayout(dir, amd64Rock(3))
	if err != nil {
		t.Fatal(err)
	}
	r := pushArchive(t, w, imagepush.Archive{Path: dir, Layout: true})
	r.pushed(t, written.Top[0])
}

func twoPlatforms(index bool) ocitest.Spec {
	return ocitest.Spec{Index: index, Images: []ocitest.Image{
		{Platform: "linux/arm64", Layers: []int64{1 << 20, 2000}, Seed: 4},
		{Platform: "linux/amd64", Layers: []int64{1 << 20, 3000}, Seed: 4},
	}}
}

func TestPushArchiveIndexWhole(t *testing.T) {
	w := newWorld(t)
	a, written := writeArchive(t, "multi.tar", twoPlatforms(true))
	r := pushArchive(t, w, a)
	r.pushed(t, written.Top[0], "linux/amd64", "linux/arm64")
	for _, m := range written.Manifests {
		if ok, err := w.client(t).ManifestExists(t.Context(), m); err != nil || !ok {
			t.Errorf("manifest %s not in the registry (%v)", m, err)
		}
	}
	archs, err := imagepush.RemoteArchs(t.Context(), w.client(t), r.res.Digest)
	if err != nil || len(archs) != 2 {
		t.Errorf("the registry's index lists %v (%v), want two architectures", archs, err)
	}
}

func TestPushArchiveIndexOnePlatform(t *testing.T) {
	w := newWorld(t)
	a, written := writeArchive(t, "multi.tar", twoPlatforms(true))
	arm, _ := imagepush.ParsePlatform("linux/arm64")
	r := pushArchive(t, w, a, imagepush.WithPlatforms([]imagepush.Platform{arm}))
	r.pushed(t, written.Manifests[0])
}

func TestPushArchiveOfSeveralImages(t *testing.T) {
	w := newWorld(t)
	a, written := writeArchive(t, "two.tar", twoPlatforms(false))
	r := pushArchive(t, w, a)
	if r.err == nil {
		t.Fatal("an archive of two images was pushed without a choice")
	}
	for _, want := range []string{"holds 2 images", "linux/amd64", "linux/arm64", "--platform"} {
		if !strings.Contains(r.err.Error(), want) {
			t.Errorf("error %q does not say %q", r.err, want)
		}
	}
	if w.uploads() != 0 {
		t.Errorf("%d blob uploads before the refusal", w.uploads())
	}
	amd, _ := imagepush.ParsePlatform("linux/amd64")
	r = pushArchive(t, w, a, imagepush.WithPlatforms([]imagepush.Platform{amd}))
	r.pushed(t, written.Manifests[1], "linux/amd64")
	s390, _ := imagepush.ParsePlatform("linux/s390x")
	r = pushArchive(t, w, a, imagepush.WithPlatforms([]imagepush.Platform{s390}))
	if r.err == nil || !strings.Contains(r.err.Error(), "no image for it") {
		t.Errorf("--platform=linux/s390x: %v, want a refusal saying there is none", r.err)
	}
}

func TestPushDamagedArchiveSendsNothing(t *testing.T) {
	w := newWorld(t)
	spec := amd64Rock(5)
	spec.Corrupt = true
	a, written := writeArchive(t, "bad.rock", spec)
	r := pushArchive(t, w, a)
	if r.err == nil {
		t.Fatal("a damaged archive was pushed")
	}
	if !strings.Contains(r.err.Error(), written.Corrupted.String()) || !strings.Contains(r.err.Error(), "damaged") {
		t.Errorf("error %q does not name the damaged blob %s", r.err, written.Corrupted)
	}
	if got := w.uploads(); got != 0 {
		t.Errorf("%d blob uploads from a damaged archive, want none", got)
	}
	for _, d := range written.Layers[0] {
		if ok, _ := w.client(t).BlobExists(t.Context(), d); ok {
			t.Errorf("layer %s reached the registry", d)
		}
	}
}

func TestPushLegacySaveArchiveRefused(t *testing.T) {
	w := newWorld(t)
	file := filepath.Join(t.TempDir(), "saved.tar")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	for name, body := range map[string]string{
		"manifest.json":   `[{"Config":"c.json","RepoTags":["x:1"],"Layers":["l/layer.tar"]}]`,
		"c.json":          `{"architecture":"amd64","os":"linux"}`,
		"l/layer.tar":     strings.Repeat("\x00", 1024),
		"repositories":    `{}`,
		"blobs/sha256/00": "", // an odd name, skipped
	} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(tw.Close(), f.Close()); err != nil {
		t.Fatal(err)
	}
	r := pushArchive(t, w, imagepush.Archive{Path: file})
	var legacy *imagepush.LegacyArchiveError
	if !errors.As(r.err, &legacy) || !strings.Contains(r.err.Error(), "docker load -i") {
		t.Fatalf("legacy docker save tar: %v, want a refusal saying to docker load it", r.err)
	}
	if w.uploads() != 0 {
		t.Errorf("%d blob uploads", w.uploads())
	}
}

func TestPushArchiveNotOCI(t *testing.T) {
	w := newWorld(t)
	file := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(file, []byte("hello, this is no tar at all, only text that is longer than a block? no."), 0o644); err != nil {
		t.Fatal(err)
	}
	r := pushArchive(t, w, imagepush.Archive{Path: file})
	if r.err == nil || !strings.Contains(r.err.Error(), "OCI archive") {
		t.Errorf("a text file: %v, want a refusal saying what --image takes", r.err)
	}
	dir := t.TempDir()
	r = pushArchive(t, w, imagepush.Archive{Path: dir, Layout: true})
	if r.err == nil || !strings.Contains(r.err.Error(), "index.json") {
		t.Errorf("an empty directory: %v, want a refusal saying what it lacks", r.err)
	}
}

// TestPushArchiveResumed kills the push of a rock midway: the next run,
// with the same cache, sends only what the registry lacks (distribution
// 2.8 cancels a session cut midway: there only the outcome is checked).
func TestPushArchiveResumed(t *testing.T) {
	const layer = 24 << 20
	w := newWorld(t)
	cache, err := layercache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a, written := writeArchive(t, "big.rock", ocitest.Spec{Images: []ocitest.Image{{Platform: "linux/amd64", Layers: []int64{layer}, Seed: 7}}})
	uploads := w.path("blobs/uploads/*")
	w.proxy.Add(faultproxy.Rule{Method: http.MethodPut, Path: uploads, Fault: faultproxy.Throttle(32 << 20)})
	ctx, cancel := context.WithCancel(t.Context())
	killed := make(chan error, 1)
	go func() {
		_, err := imagepush.PushArchive(ctx, w.client(t), a, imagepush.WithCache(cache))
		killed <- err
	}()
	for deadline := time.Now().Add(time.Minute); w.proxy.BodyBytes(http.MethodPut, uploads) < layer/2; {
		select {
		case err := <-killed:
			t.Fatalf("the run to kill ended before half its layer was sent: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry got %d bytes in a minute", w.proxy.BodyBytes(http.MethodPut, uploads))
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-killed; !errors.Is(err, context.Canceled) {
		t.Fatalf("the killed run ended with %v", err)
	}
	w.proxy.Settled(10 * time.Second) // what the dead connection held reaches the registry
	w.proxy.Clear()
	w.proxy.ClearRequests()
	r := pushArchive(t, w, a, imagepush.WithCache(cache))
	r.pushed(t, written.Top[0])
	sent := w.proxy.BodyBytes(http.MethodPut, uploads)
	t.Logf("the run again sent %d bytes, %.0f%% of the layer", sent, 100*float64(sent)/layer)
	if kind, _ := registrytest.KindFromEnv(); kind != registrytest.Distribution2 && sent > layer*55/100 {
		t.Errorf("the run again sent %d bytes, more than 55%% of the %d-byte layer", sent, layer)
	}
}
