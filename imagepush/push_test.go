package imagepush_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/imagepush"
	"github.com/canonical/docker-charmcraft/internal/faultproxy"
	"github.com/canonical/docker-charmcraft/internal/mediatype"
	"github.com/canonical/docker-charmcraft/registry"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/opencontainers/go-digest"
)

var (
	cold    = []imagepush.EventKind{imagepush.Uploading, imagepush.Uploaded}
	already = []imagepush.EventKind{imagepush.Uploading, imagepush.AlreadyPushed}
	reused  = []imagepush.EventKind{imagepush.Reused}
)

func wantKinds(t *testing.T, r *run, want []imagepush.EventKind) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("Push: %v", r.err)
	}
	if got := r.kinds(); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func wantSaves(t *testing.T, d *fakeDaemon, want int) {
	t.Helper()
	if got := int(d.saves.Load()); got != want {
		t.Errorf("%d docker saves, want %d", got, want)
	}
}

// TestPushEachLayout pushes the image of each layout into an empty
// registry, reads the manifest back, and names it again by its short ID.
func TestPushEachLayout(t *testing.T) {
	for _, layout := range layouts {
		t.Run(layout, func(t *testing.T) {
			w, fx := newWorld(t), loadFixture(t, layout)
			d := newDaemon(fx)
			id := fx.inspect.ID
			r := push(t, w, d, full(id))
			wantKinds(t, r, cold)
			wantSaves(t, d, 1)
			if r.res.Local == nil || r.res.Local.ID.String() != id || r.res.Local.Arch != "amd64" || len(r.res.Local.DiffIDs) != 2 {
				t.Fatalf("local image %+v, want %s, amd64, 2 layers", r.res.Local, id)
			}
			if e := r.said()[1]; e.Digest != r.res.Digest {
				t.Errorf("Uploaded names %s, the result %s", e.Digest, r.res.Digest)
			}
			checkManifest(t, w, r.res.Digest, fx)

			// The image ID is the manifest's digest (containerd), or the
			// registry's record of the image names it (classic store).
			again := push(t, w, d, short(id))
			wantKinds(t, again, reused)
			wantSaves(t, d, 1)
			if again.res.Digest != r.res.Digest {
				t.Errorf("pushed again as %s, first as %s", again.res.Digest, r.res.Digest)
			}
			// Distribution 2 answers 500 to a manifest check by a config
			// digest: the registry is never asked that.
			if layout != "containerd" {
				if n := w.proxy.Count("HEAD", w.path("manifests/"+id)); n != 0 {
					t.Errorf("the registry was asked %d times for the image config %s as a manifest", n, id)
				}
			}
		})
	}
}

// checkManifest reads the manifest d back and checks it is fx's image.
func checkManifest(t *testing.T, w *world, d digest.Digest, fx fixture) {
	t.Helper()
	mt, body, err := w.client(t).GetManifest(t.Context(), d.String())
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Config struct{ Digest string }
		Layers []struct{ MediaType string }
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	switch {
	case mt == mediatype.DockerManifest && m.Config.Digest != fx.inspect.ID:
		t.Errorf("config %s, want the image ID %s", m.Config.Digest, fx.inspect.ID)
	case mt != mediatype.DockerManifest && d.String() != fx.inspect.ID:
		t.Errorf("a %s pushed as %s, want the image's own manifest, %s", mt, d, fx.inspect.ID)
	case len(m.Layers) != len(fx.inspect.RootFS.Layers):
		t.Errorf("%d layers, want %d", len(m.Layers), len(fx.inspect.RootFS.Layers))
	}
	archs, err := imagepush.RemoteArchs(t.Context(), w.client(t), d)
	if err != nil || !slices.Equal(archs, []string{"amd64"}) {
		t.Errorf("RemoteArchs = %v, %v; want [amd64]", archs, err)
	}
}

// TestPushFromCache: the same image again with the same cache is known to
// be in the registry, with no docker save and nothing sent; with the
// registry emptied, the cache alone cannot do and the image is read and
// pushed again.
func TestPushFromCache(t *testing.T) {
	for _, layout := range []string{"legacy", "oci"} {
		t.Run(layout, func(t *testing.T) {
			w, fx, cache := newWorld(t), loadFixture(t, layout), newCache(t)
			d := newDaemon(fx)
			first := push(t, w, d, full(fx.inspect.ID), imagepush.WithCache(cache))
			wantKinds(t, first, cold)
			uploads := w.uploads()

			again := push(t, w, d, full(fx.inspect.ID), imagepush.WithCache(cache))
			wantKinds(t, again, reused)
			wantSaves(t, d, 1)
			if w.uploads() != uploads || again.res.Digest != first.res.Digest {
				t.Errorf("%d uploads more, digest %s; want none, %s", w.uploads()-uploads, again.res.Digest, first.res.Digest)
			}

			empty := newWorld(t)
			lost := push(t, empty, d, full(fx.inspect.ID), imagepush.WithCache(cache))
			wantKinds(t, lost, cold)
			wantSaves(t, d, 2) // no dry run: the cache knew the manifest
			if lost.res.Digest != first.res.Digest {
				t.Errorf("pushed as %s, first as %s", lost.res.Digest, first.res.Digest)
			}
		})
	}
}

// TestPushDryRun: a machine with an empty cache (a new CI runner) reads
// the image once and sends nothing when the registry has it but no
// record of it (pushed by an older plugin, or refused).
func TestPushDryRun(t *testing.T) {
	for _, layout := range []string{"legacy", "oci"} {
		t.Run(layout, func(t *testing.T) {
			w, fx := newWorld(t), loadFixture(t, layout)
			d := newDaemon(fx)
			w.refuseRecords() // else the record settles it
			first := push(t, w, d, full(fx.inspect.ID), imagepush.WithCache(newCache(t)))
			wantKinds(t, first, cold)
			uploads := w.uploads()

			fresh := newCache(t)
			dry := push(t, w, d, full(fx.inspect.ID), imagepush.WithCache(fresh))
			wantKinds(t, dry, already)
			wantSaves(t, d, 2)
			if w.uploads() != uploads || dry.res.Digest != first.res.Digest {
				t.Errorf("%d uploads more, digest %s; want none, %s", w.uploads()-uploads, dry.res.Digest, first.res.Digest)
			}
			// The dry run filled the cache.
			wantKinds(t, push(t, w, d, full(fx.inspect.ID), imagepush.WithCache(fresh)), reused)
			wantSaves(t, d, 2)
		})
	}
}

// TestPushExportsAgain: a layer upload broken midway goes on in its
// session, with no export again; only a lost session needs the layer
// from its start, which the docker save stream cannot give again, so the
// image is exported again, up to the limit. (The fixture's layers are
// small: they stream only when none is sent whole.)
func TestPushExportsAgain(t *testing.T) {
	fx := loadFixture(t, "legacy")
	streamed := imagepush.WithUploads(1, 0)
	lost := func(w *world, times int) []faultproxy.Rule {
		return []faultproxy.Rule{
			{Method: "PATCH", Path: w.path("blobs/uploads/*"), Times: times, Fault: faultproxy.Fail(503)},
			{Method: "GET", Path: w.path("blobs/uploads/*"), Times: times, Fault: faultproxy.Fault{Kind: faultproxy.Status, Code: 404,
				Body: `{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"blob upload unknown to registry"}]}`}},
		}
	}
	t.Run("session survives", func(t *testing.T) {
		w, d := newWorld(t), newDaemon(fx)
		w.proxy.Add(faultproxy.Rule{Method: "PATCH", Path: w.path("blobs/uploads/*"), Times: 1, Fault: faultproxy.Fail(503)})
		r := push(t, w, d, full(fx.inspect.ID), streamed)
		wantKinds(t, r, []imagepush.EventKind{imagepush.Uploading, imagepush.Uploaded})
		wantSaves(t, d, 1)
		checkManifest(t, w, r.res.Digest, fx)
	})
	t.Run("session lost", func(t *testing.T) {
		w, d := newWorld(t), newDaemon(fx)
		w.proxy.Add(lost(w, 1)...)
		r := push(t, w, d, full(fx.inspect.ID), streamed)
		wantKinds(t, r, []imagepush.EventKind{imagepush.Uploading, imagepush.ExportingAgain, imagepush.Uploaded})
		wantSaves(t, d, 2)
		if e := r.said()[1]; e.Attempt != 2 || e.Attempts != 3 || !errors.Is(e.Err, registry.ErrInterrupted) {
			t.Errorf("ExportingAgain %+v, want attempt 2 of 3 after ErrInterrupted", e)
		}
		checkManifest(t, w, r.res.Digest, fx)
	})
	t.Run("gives up", func(t *testing.T) {
		w, d := newWorld(t), newDaemon(fx)
		w.proxy.Add(lost(w, 0)...)
		r := push(t, w, d, full(fx.inspect.ID), streamed, imagepush.WithExportAttempts(2))
		if !errors.Is(r.err, registry.ErrInterrupted) || !strings.Contains(r.err.Error(), "gave up after 2 exports") {
			t.Fatalf("got %v, want ErrInterrupted after 2 exports", r.err)
		}
		wantSaves(t, d, 2)
	})
}

// TestPushListRace: the containerd store answers NotFound to a listing
// when an image goes meanwhile; the listing is asked for again.
func TestPushListRace(t *testing.T) {
	fx := loadFixture(t, "legacy")
	d := newDaemon(fx)
	d.listErr = fmt.Errorf("Error response from daemon: %w", cerrdefs.ErrNotFound)
	d.listFails.Store(2)
	w := newWorld(t)
	r := push(t, w, d, short(fx.inspect.ID))
	wantKinds(t, r, cold)
	if n := d.lists.Load(); n < 3 {
		t.Errorf("%d listings, want the two that failed and one more", n)
	}
}

// TestPushListsAllOnlyWhenNeeded: the containerd store lists all images
// slowly, so they are asked for only when the top-level ones hold none
// that the digest names, as an intermediate image of a classic build.
func TestPushListsAllOnlyWhenNeeded(t *testing.T) {
	for _, intermediate := range []bool{false, true} {
		fx := loadFixture(t, "legacy")
		fx.intermediate = intermediate
		d := newDaemon(fx)
		r := push(t, newWorld(t), d, short(fx.inspect.ID))
		wantKinds(t, r, cold)
		if n, want := d.listsAll.Load(), map[bool]int32{false: 0, true: 1}[intermediate]; n != want {
			t.Errorf("intermediate %v: %d listings of all images, want %d", intermediate, n, want)
		}
	}
}

// TestPushPrefixByInspect: a prefix the daemon resolves to one image
// needs no listing; a prefix of several images, or one the daemon reads
// as the name of another image, is looked up in the list, as before.
func TestPushPrefixByInspect(t *testing.T) {
	fx := loadFixture(t, "legacy")
	twin := fx // another image whose ID starts the same
	twin.summary.ID = fx.inspect.ID[:len(fx.inspect.ID)-4] + "beef"
	twin.inspect.ID = twin.summary.ID
	other := loadFixture(t, "oci")
	ref := short(fx.inspect.ID)
	for _, tt := range []struct {
		name      string
		images    []fixture
		named     map[string]fixture
		lists     bool
		ambiguous bool
	}{
		{"one image", []fixture{fx, other}, nil, false, false},
		{"several images", []fixture{fx, twin}, nil, true, true},
		{"a name that reads as the prefix", []fixture{fx, other}, map[string]fixture{ref.String(): other}, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := newDaemon(tt.images...)
			d.resolves, d.named = true, tt.named
			r := push(t, newWorld(t), d, ref)
			if listed := d.lists.Load() > 0; listed != tt.lists {
				t.Errorf("listed %v, want %v", listed, tt.lists)
			}
			if tt.ambiguous {
				if amb, ok := errors.AsType[*imagepush.AmbiguousError](r.err); !ok || len(amb.Images) != 2 {
					t.Fatalf("got %v, want the two images named", r.err)
				}
				return
			}
			wantKinds(t, r, cold)
			if r.res.Local == nil || r.res.Local.ID.String() != fx.inspect.ID {
				t.Errorf("pushed %+v, want image %s", r.res.Local, fx.inspect.ID)
			}
		})
	}
}

// TestPushLookupErrors: what is found nowhere, or ambiguously, or asked of
// a daemon that is not there, fails before any docker save.
func TestPushLookupErrors(t *testing.T) {
	fx := loadFixture(t, "legacy")
	other := strings.Repeat("0", 64)
	twin := fx // another image whose ID starts the same
	twin.summary.ID = fx.inspect.ID[:len(fx.inspect.ID)-4] + "beef"
	noDaemon, err := client.New(client.WithHost("unix://" + t.TempDir() + "/none.sock"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		daemon imagepush.Daemon
		ref    imagepush.Ref
		check  func(error) bool
	}{
		{"full digest found nowhere", newDaemon(fx), imagepush.Ref{Hex: other, Full: true}, isLookup(imagepush.ErrNotFound, true)},
		{"no local ID starts so", newDaemon(fx), imagepush.Ref{Hex: other[:12]}, isLookup(imagepush.ErrNotFound, false)},
		{"daemon unreachable, full digest", noDaemon, full(fx.inspect.ID), isLookup(imagepush.ErrDaemonUnreachable, true)},
		{"daemon unreachable, short", noDaemon, short(fx.inspect.ID), isLookup(imagepush.ErrDaemonUnreachable, false)},
		{"list fails", &fakeDaemon{listErr: errors.New("boom")}, short(fx.inspect.ID), func(err error) bool {
			var lookup *imagepush.LookupError
			return !errors.As(err, &lookup) && strings.Contains(err.Error(), "asking the Docker daemon about local images: boom")
		}},
		{"list fails for good with NotFound", &fakeDaemon{listErr: cerrdefs.ErrNotFound}, short(fx.inspect.ID), func(err error) bool {
			return strings.Contains(err.Error(), "asking the Docker daemon about local images: not found")
		}},
		{"ambiguous prefix", newDaemon(fx, twin), short(fx.inspect.ID), func(err error) bool {
			var amb *imagepush.AmbiguousError
			return errors.As(err, &amb) && len(amb.Images) == 2 && strings.Contains(amb.List(), twin.summary.ID)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			r := push(t, w, tt.daemon, tt.ref)
			if r.err == nil || !tt.check(r.err) {
				t.Fatalf("got %v", r.err)
			}
			if fd, ok := tt.daemon.(*fakeDaemon); ok {
				wantSaves(t, fd, 0)
			}
			if len(r.events) != 0 || w.uploads() != 0 {
				t.Errorf("events %v and %d uploads, want none", r.kinds(), w.uploads())
			}
		})
	}
}

func isLookup(kind error, full bool) func(error) bool {
	return func(err error) bool {
		var lookup *imagepush.LookupError
		return errors.As(err, &lookup) && errors.Is(err, kind) && lookup.Ref.Full == full
	}
}

// TestPushStrategyErrors: each strategy's errors end the push, said as
// they happened. The dry run's (the registry's answers, docker save,
// the stream) used to be dropped, and the upload tried instead.
func TestPushStrategyErrors(t *testing.T) {
	fx := loadFixture(t, "legacy")
	id := fx.inspect.ID
	tests := []struct {
		name string
		// pushed: the registry holds the image already, pushed from
		// another machine, so the dry run applies.
		pushed bool
		setup  func(w *world, d *fakeDaemon, remote digest.Digest)
		ref    imagepush.Ref
		want   string
		saves  int
	}{
		{name: "registry fails on a digest the daemon does not know", ref: imagepush.Ref{Hex: strings.Repeat("0", 64), Full: true},
			want: "asking Canonical's registry for sha256:" + strings.Repeat("0", 64),
			setup: func(w *world, _ *fakeDaemon, _ digest.Digest) {
				w.proxy.Add(faultproxy.Rule{Method: "HEAD", Path: w.path("manifests/*"), Fault: faultproxy.Fail(500)})
			}},
		{name: "registry fails on the remote manifest", ref: full(id), saves: 1, want: "asking Canonical's registry for sha256:",
			setup: func(w *world, _ *fakeDaemon, _ digest.Digest) {
				w.proxy.Add(faultproxy.Rule{Method: "HEAD", Path: w.path("manifests/*"), Fault: faultproxy.Fail(500)})
			}},
		{name: "dry run: the config check fails", pushed: true, ref: full(id), want: "asking Canonical's registry for " + id,
			setup: func(w *world, _ *fakeDaemon, _ digest.Digest) {
				w.proxy.Add(faultproxy.Rule{Method: "HEAD", Path: w.path("blobs/" + id), Fault: faultproxy.Fail(500)})
			}},
		{name: "dry run: docker save fails", pushed: true, ref: full(id), want: "asking the Docker daemon about local images: no space left", saves: 1,
			setup: func(_ *world, d *fakeDaemon, _ digest.Digest) { d.saveErr = errors.New("no space left") }},
		{name: "dry run: the stream is cut short", pushed: true, ref: full(id), want: "exporting image " + id + " from the Docker daemon: reading docker save stream", saves: 1,
			setup: func(_ *world, d *fakeDaemon, _ digest.Digest) { d.cut = 5000 }},
		{name: "dry run: the manifest check fails", pushed: true, ref: short(id), saves: 1,
			setup: func(w *world, _ *fakeDaemon, remote digest.Digest) {
				w.proxy.Add(faultproxy.Rule{Method: "HEAD", Path: w.path("manifests/" + remote.String()), Fault: faultproxy.Fail(500)})
			}},
		{name: "upload: docker save fails", ref: full(id), want: "asking the Docker daemon about local images: no space left", saves: 1,
			setup: func(_ *world, d *fakeDaemon, _ digest.Digest) { d.saveErr = errors.New("no space left") }},
		{name: "upload: the manifest push fails", ref: full(id), want: "pushing the image manifest to Canonical's registry", saves: 1,
			setup: func(w *world, _ *fakeDaemon, _ digest.Digest) {
				w.proxy.Add(faultproxy.Rule{Method: "PUT", Path: w.path("manifests/*"), Fault: faultproxy.Fail(500)})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			var remote digest.Digest
			if tt.pushed {
				w.refuseRecords() // else the record settles it
				first := push(t, w, newDaemon(fx), full(id), imagepush.WithCache(newCache(t)))
				wantKinds(t, first, cold)
				remote = first.res.Digest
			}
			d := newDaemon(fx)
			tt.setup(w, d, remote)
			uploads := w.uploads()
			r := push(t, w, d, tt.ref, imagepush.WithCache(newCache(t)))
			want := tt.want
			if want == "" {
				want = "asking Canonical's registry for " + remote.String()
			}
			if r.err == nil || !strings.Contains(r.err.Error(), want) {
				t.Fatalf("got %v, want %q", r.err, want)
			}
			wantSaves(t, d, tt.saves)
			if tt.pushed && w.uploads() != uploads {
				t.Errorf("%d uploads after the dry run failed, want none", w.uploads()-uploads)
			}
		})
	}
}

// TestPushNotAManifest: a config digest the daemon cannot tell about is
// asked for as a manifest; distribution 2 answers 500 (simulated here),
// which is said as what the digest is and what to give instead.
func TestPushNotAManifest(t *testing.T) {
	w, fx := newWorld(t), loadFixture(t, "legacy")
	id := fx.inspect.ID
	wantKinds(t, push(t, w, newDaemon(fx), full(id)), cold)
	w.proxy.Add(faultproxy.Rule{Method: "HEAD", Path: w.path("manifests/*"), Fault: faultproxy.Fail(500)})
	other := strings.Repeat("0", 64)
	for _, tt := range []struct {
		name, hex, want string
	}{
		{"a config the registry holds", strings.TrimPrefix(id, "sha256:"), id + " is the digest of an image's config or of a layer in Canonical's registry, not of an image manifest (the registry answered 500"},
		{"a digest it does not hold", other, "asking Canonical's registry for sha256:" + other + ": registry answered 500"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := push(t, w, newDaemon(), imagepush.Ref{Hex: tt.hex, Full: true}) // a daemon without the image
			if r.err == nil || !strings.HasPrefix(r.err.Error(), tt.want) {
				t.Fatalf("got %v, want %q...", r.err, tt.want)
			}
		})
	}
}

// TestPushByRepoDigest: a RepoDigest is a manifest digest: the registry is
// asked for it as it is, and the image pushed when it lacks it.
func TestPushByRepoDigest(t *testing.T) {
	w, fx := newWorld(t), loadFixture(t, "oci")
	rd := "sha256:" + strings.Repeat("5", 64)
	fx.summary.RepoDigests = []string{"example.com/app@" + rd}
	d := newDaemon(fx)
	r := push(t, w, d, imagepush.Ref{Hex: strings.Repeat("5", 64), Full: true})
	wantKinds(t, r, cold)
	if r.res.Local == nil || r.res.Local.RepoDigest.String() != rd || r.res.Local.ManifestID {
		t.Fatalf("local image %+v, want found by its RepoDigest %s on a classic store", r.res.Local, rd)
	}
	if w.proxy.Count("HEAD", w.path("manifests/"+rd)) == 0 {
		t.Error("the registry was never asked for the RepoDigest")
	}
}
