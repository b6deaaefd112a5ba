package imagepush_test

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/canonical/docker-charmcraft/dockersave"
	"github.com/canonical/docker-charmcraft/imagepush"
	"github.com/canonical/docker-charmcraft/internal/faultproxy"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/opencontainers/go-digest"
)

// wantRecord checks that the registry's record of image id names the
// manifest remote.
func wantRecord(t *testing.T, w *world, id string, remote digest.Digest) {
	t.Helper()
	_, body, err := w.client(t).GetManifest(t.Context(), imagepush.RecordTag(digest.Digest(id)))
	if err != nil {
		t.Fatalf("reading the record: %v", err)
	}
	if got := digest.FromBytes(body); got != remote {
		t.Errorf("the record names %s, want %s", got, remote)
	}
}

// wantRecordEvents checks the record events of r, by kind, and that an
// ignored record says why.
func wantRecordEvents(t *testing.T, r *run, why string, want ...imagepush.EventKind) {
	t.Helper()
	got := r.records()
	if len(got) != len(want) {
		t.Fatalf("record events %+v, want kinds %v", got, want)
	}
	for i, e := range got {
		if e.Kind != want[i] {
			t.Errorf("record event %d is %+v, want kind %v", i, e, want[i])
		}
		if e.Kind == imagepush.RecordIgnored && (e.Err == nil || !strings.Contains(e.Err.Error(), why)) {
			t.Errorf("record ignored because %v, want %q", e.Err, why)
		}
	}
}

func TestRecordTag(t *testing.T) {
	id := digest.Digest("sha256:" + strings.Repeat("ab", 32))
	tag := imagepush.RecordTag(id)
	if tag != "charmcraft-image-sha256-"+strings.Repeat("ab", 32) || len(tag) > 128 {
		t.Errorf("RecordTag = %q", tag)
	}
}

// TestPushRecordFreshMachine: a machine with an empty cache (a new CI
// runner) finds the image's manifest through the record, and checks it
// by reading each layer once: no docker save, nothing sent.
func TestPushRecordFreshMachine(t *testing.T) {
	for _, layout := range []string{"legacy", "oci"} {
		t.Run(layout, func(t *testing.T) {
			w, fx := newWorld(t), loadFixture(t, layout)
			first := push(t, w, newDaemon(fx), full(fx.inspect.ID), imagepush.WithCache(newCache(t)))
			wantKinds(t, first, cold)
			wantRecordEvents(t, first, "no record", imagepush.RecordIgnored, imagepush.RecordSaved)
			wantRecord(t, w, fx.inspect.ID, first.res.Digest)

			d, cache := newDaemon(fx), newCache(t)
			before := len(w.proxy.Requests())
			fresh := push(t, w, d, short(fx.inspect.ID), imagepush.WithCache(cache))
			wantKinds(t, fresh, reused)
			wantRecordEvents(t, fresh, "")
			wantSaves(t, d, 0)
			if fresh.res.Digest != first.res.Digest || fresh.res.Local == nil || fresh.res.Local.Arch != "amd64" {
				t.Errorf("reused %s (local image %+v), pushed %s", fresh.res.Digest, fresh.res.Local, first.res.Digest)
			}
			var asked []string
			for _, r := range w.proxy.Requests()[before:] {
				if r.Status != 401 { // the token challenge
					asked = append(asked, r.Method+" "+r.Path)
				}
			}
			want := []string{"GET " + w.path("manifests/"+imagepush.RecordTag(digest.Digest(fx.inspect.ID)))}
			for _, l := range remoteLayers(t, w, fresh.res.Digest) {
				want = append(want, "GET "+w.path("blobs/"+l.Digest.String()))
			}
			if !slices.Equal(asked, want) {
				t.Errorf("the registry was asked %q, want the record's GET and a GET of each layer, %q", asked, want)
			}

			// The cache learnt the layers it checked: the record is used
			// again with no layer read.
			before = len(w.proxy.Requests())
			wantKinds(t, push(t, w, d, short(fx.inspect.ID), imagepush.WithCache(cache)), reused)
			for _, r := range w.proxy.Requests()[before:] {
				if r.Status != 401 && r.Path != want[0][len("GET "):] {
					t.Errorf("the registry was asked %s %s, want the record's GET alone", r.Method, r.Path)
				}
			}

			// The cache learnt the manifest from the record: without the
			// record, it alone spares the export.
			w.proxy.Add(faultproxy.Rule{Method: "GET", Path: w.path("manifests/charmcraft-image-*"), Fault: faultproxy.Fail(404)})
			learnt := push(t, w, d, short(fx.inspect.ID), imagepush.WithCache(cache))
			wantKinds(t, learnt, reused)
			wantSaves(t, d, 0)
		})
	}
}

// TestPushRecordWrong: a record naming another image's manifest is not
// used: the image is pushed, and the record made right.
func TestPushRecordWrong(t *testing.T) {
	w, fx, other := newWorld(t), loadFixture(t, "legacy"), loadFixture(t, "oci")
	pushedOther := push(t, w, newDaemon(other), full(other.inspect.ID))
	wantKinds(t, pushedOther, cold)
	c := w.client(t)
	mt, body, err := c.GetManifest(t.Context(), pushedOther.res.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.TagManifest(t.Context(), imagepush.RecordTag(digest.Digest(fx.inspect.ID)), mt, body); err != nil {
		t.Fatal(err)
	}

	d := newDaemon(fx)
	r := push(t, w, d, full(fx.inspect.ID), imagepush.WithCache(newCache(t)))
	wantKinds(t, r, cold)
	wantSaves(t, d, 1)
	wantRecordEvents(t, r, "the record names the manifest of another image", imagepush.RecordIgnored, imagepush.RecordSaved)
	if r.res.Digest == pushedOther.res.Digest {
		t.Fatalf("pushed as the other image, %s", r.res.Digest)
	}
	checkManifest(t, w, r.res.Digest, fx)
	wantRecord(t, w, fx.inspect.ID, r.res.Digest)
}

// TestPushRecordMissing: an image in the registry with no record (pushed
// by an older plugin) is computed with one docker save and nothing sent,
// and recorded: the next fresh machine needs no export.
func TestPushRecordMissing(t *testing.T) {
	w, fx := newWorld(t), loadFixture(t, "legacy")
	w.refuseRecords()
	first := push(t, w, newDaemon(fx), full(fx.inspect.ID), imagepush.WithCache(newCache(t)))
	wantKinds(t, first, cold)
	w.proxy.Clear()
	uploads := w.uploads()

	d := newDaemon(fx)
	dry := push(t, w, d, full(fx.inspect.ID), imagepush.WithCache(newCache(t)))
	wantKinds(t, dry, already)
	wantSaves(t, d, 1)
	wantRecordEvents(t, dry, "no record", imagepush.RecordIgnored, imagepush.RecordSaved)
	wantRecord(t, w, fx.inspect.ID, first.res.Digest)

	next := push(t, w, d, full(fx.inspect.ID), imagepush.WithCache(newCache(t)))
	wantKinds(t, next, reused)
	wantSaves(t, d, 1)
	if w.uploads() != uploads || next.res.Digest != first.res.Digest {
		t.Errorf("%d uploads more, digest %s; want none, %s", w.uploads()-uploads, next.res.Digest, first.res.Digest)
	}
}

// TestPushRecordRefused: a registry that refuses the record's tag still
// takes the push, which succeeds; the refusal is only an event. The
// machine's cache then does the record's work.
func TestPushRecordRefused(t *testing.T) {
	for _, code := range []int{403, 400} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			w, fx, cache := newWorld(t), loadFixture(t, "legacy"), newCache(t)
			w.proxy.Add(faultproxy.Rule{Method: "PUT", Path: w.path("manifests/charmcraft-image-*"), Fault: faultproxy.Fail(code)})
			d := newDaemon(fx)
			r := push(t, w, d, full(fx.inspect.ID), imagepush.WithCache(cache))
			wantKinds(t, r, cold)
			wantRecordEvents(t, r, "no record", imagepush.RecordIgnored, imagepush.RecordNotSaved)
			var rerr *registry.Error
			if e := r.records()[1]; !errors.As(e.Err, &rerr) || rerr.StatusCode != code || e.Digest != r.res.Digest {
				t.Errorf("RecordNotSaved %+v, want the %d answer for %s", e, code, r.res.Digest)
			}
			checkManifest(t, w, r.res.Digest, fx)

			again := push(t, w, d, full(fx.inspect.ID), imagepush.WithCache(cache))
			wantKinds(t, again, reused)
			wantSaves(t, d, 1)
		})
	}
}

// TestPushRecordCompressorChange: a plugin whose compressor writes other
// bytes (another level here; another klauspost/compress would do the
// same) computes another manifest for the same image, but finds the
// record first and reuses the manifest there: same remote digest,
// nothing sent, no export, even with the cache the first plugin filled.
func TestPushRecordCompressorChange(t *testing.T) {
	fx, other := loadFixture(t, "legacy"), dockersave.Gzip(6)
	if other.ID() == dockersave.DefaultCompressor().ID() {
		t.Fatalf("compressor %s is the default", other.ID())
	}
	w, cache := newWorld(t), newCache(t)
	first := push(t, w, newDaemon(fx), full(fx.inspect.ID), imagepush.WithCache(cache))
	wantKinds(t, first, cold)
	uploads := w.uploads()
	for _, c := range []struct {
		name  string
		cache func() imagepush.Option
	}{{"same cache", func() imagepush.Option { return imagepush.WithCache(cache) }},
		{"fresh cache", func() imagepush.Option { return imagepush.WithCache(newCache(t)) }}} {
		t.Run(c.name, func(t *testing.T) {
			d := newDaemon(fx)
			r := push(t, w, d, full(fx.inspect.ID), c.cache(), imagepush.WithCompressor(other))
			wantKinds(t, r, reused)
			wantSaves(t, d, 0)
			if r.res.Digest != first.res.Digest || w.uploads() != uploads {
				t.Errorf("digest %s and %d uploads more; want %s and none", r.res.Digest, w.uploads()-uploads, first.res.Digest)
			}
		})
	}
	// Without the record, the other compressor does make another manifest.
	bare := newWorld(t)
	bare.refuseRecords()
	wantKinds(t, push(t, bare, newDaemon(fx), full(fx.inspect.ID)), cold)
	r := push(t, bare, newDaemon(fx), full(fx.inspect.ID), imagepush.WithCompressor(other))
	wantKinds(t, r, cold)
	if r.res.Digest == first.res.Digest {
		t.Errorf("gzip level 6 gave the same manifest %s as level %d", r.res.Digest, dockersave.DefaultGzipLevel)
	}
}

// TestPushRecordRace: two machines (two caches, two daemons) push the
// same new image at once: both succeed, with one remote manifest, which
// the record names.
func TestPushRecordRace(t *testing.T) {
	for _, layout := range []string{"legacy", "oci"} {
		t.Run(layout, func(t *testing.T) {
			w, fx := newWorld(t), loadFixture(t, layout)
			type runner struct {
				c     *registry.Client
				cache imagepush.Option
				d     *fakeDaemon
				res   *imagepush.Result
				err   error
			}
			runners := []*runner{
				{c: w.client(t), cache: imagepush.WithCache(newCache(t)), d: newDaemon(fx)},
				{c: w.client(t), cache: imagepush.WithCache(newCache(t)), d: newDaemon(fx)},
			}
			var wg sync.WaitGroup
			for _, r := range runners {
				wg.Go(func() {
					r.res, r.err = imagepush.Push(t.Context(), r.d, r.c, full(fx.inspect.ID), r.cache)
				})
			}
			wg.Wait()
			for i, r := range runners {
				if r.err != nil {
					t.Fatalf("runner %d: %v", i, r.err)
				}
			}
			if runners[0].res.Digest != runners[1].res.Digest {
				t.Fatalf("two remote manifests: %s and %s", runners[0].res.Digest, runners[1].res.Digest)
			}
			checkManifest(t, w, runners[0].res.Digest, fx)
			wantRecord(t, w, fx.inspect.ID, runners[0].res.Digest)
		})
	}
}
