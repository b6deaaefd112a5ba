package imagepush_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/imagepush"
	"github.com/canonical/docker-charmcraft/internal/faultproxy"
)

// TestPushParallel: the fixture's small blobs are each read whole and sent
// in one PUT beside the others, so a broken upload is resumed from memory
// rather than by exporting the image again, and an upload that fails in
// the background fails the push before its manifest.
func TestPushParallel(t *testing.T) {
	fx := loadFixture(t, "legacy")
	blobs := len(fx.inspect.RootFS.Layers) + 1 // and the config
	t.Run("in flight together", func(t *testing.T) {
		w, d := newWorld(t), newDaemon(fx)
		// Each answer held long enough that uploads run one after the
		// other would not overlap.
		w.proxy.Add(faultproxy.Rule{Method: http.MethodPut, Path: w.path("blobs/uploads/*"),
			Fault: faultproxy.Fault{Kind: faultproxy.StallAnswer, Delay: 200 * time.Millisecond}})
		r := push(t, w, d, full(fx.inspect.ID))
		wantKinds(t, r, cold)
		checkManifest(t, w, r.res.Digest, fx)
		if n := w.proxy.Count(http.MethodPatch, ""); n != 0 {
			t.Errorf("%d PATCH requests, want none: small blobs go whole", n)
		}
		var puts []faultproxy.Request
		for _, q := range w.proxy.Settled(5 * time.Second) {
			if q.Method == http.MethodPut && strings.HasPrefix(q.Path, w.path("blobs/uploads/")) {
				puts = append(puts, q)
			}
		}
		if len(puts) != blobs {
			t.Fatalf("%d blob PUTs, want %d", len(puts), blobs)
		}
		if !puts[1].Start.Before(puts[0].End) {
			t.Errorf("the second upload started at %s, after the first ended (%s): not in flight together",
				puts[1].Start.Format(time.StampMicro), puts[0].End.Format(time.StampMicro))
		}
	})
	t.Run("resumed, not exported again", func(t *testing.T) {
		w, d := newWorld(t), newDaemon(fx)
		w.proxy.Add(faultproxy.Rule{Method: http.MethodPut, Path: w.path("blobs/uploads/*"), Times: 1, Fault: faultproxy.ResetAfter(100)})
		r := push(t, w, d, full(fx.inspect.ID))
		wantKinds(t, r, cold)
		wantSaves(t, d, 1)
		checkManifest(t, w, r.res.Digest, fx)
		if n := w.proxy.Count(http.MethodPatch, ""); n != 0 {
			t.Errorf("%d PATCH requests, want none: the blob is sent again whole", n)
		}
	})
	t.Run("a background upload fails", func(t *testing.T) {
		w, d := newWorld(t), newDaemon(fx)
		w.proxy.Add(faultproxy.Rule{Method: http.MethodPut, Path: w.path("blobs/uploads/*"), Fault: faultproxy.Fail(http.StatusForbidden)})
		r := push(t, w, d, full(fx.inspect.ID))
		if r.err == nil || !strings.Contains(r.err.Error(), "pushing blob sha256:") || !strings.Contains(r.err.Error(), "403") {
			t.Fatalf("got %v, want the upload's 403", r.err)
		}
		if n := w.proxy.Count(http.MethodPut, w.path("manifests/*")); n != 0 {
			t.Errorf("%d manifest PUTs after a blob upload failed, want none", n)
		}
	})
	t.Run("a background upload fails while a layer streams", func(t *testing.T) {
		// The OCI layout's small layer comes first and goes in the
		// background (whole under 1 KiB); its upload is refused 0.3 s
		// later, while the larger one (3 KiB compressed) streams in the
		// foreground at 1000 bytes a second: the push ends without
		// waiting for the registry's answer to it.
		fx := loadFixture(t, "oci")
		w, d := newWorld(t), newDaemon(fx)
		w.proxy.Add(
			faultproxy.Rule{Method: http.MethodPut, Path: w.path("blobs/uploads/*"), Times: 1,
				Fault: faultproxy.Fault{Kind: faultproxy.Status, Code: http.StatusForbidden, Delay: 300 * time.Millisecond}},
			faultproxy.Rule{Method: http.MethodPatch, Fault: faultproxy.Throttle(1000)})
		r := push(t, w, d, full(fx.inspect.ID), imagepush.WithUploads(4, 1<<10))
		ended := time.Now()
		if r.err == nil || !strings.Contains(r.err.Error(), "403") {
			t.Fatalf("got %v, want the background upload's 403", r.err)
		}
		var patches int
		for _, q := range w.proxy.Settled(10 * time.Second) {
			if q.Method != http.MethodPatch {
				continue
			}
			patches++
			if !ended.Before(q.End) {
				t.Errorf("the push ended at %s, after the foreground layer's upload was answered (%s): it waited for it",
					ended.Format(time.StampMilli), q.End.Format(time.StampMilli))
			}
		}
		if patches != 1 {
			t.Errorf("%d PATCH requests, want the foreground layer's", patches)
		}
	})
}
