package imagepush_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/imagepush"
	"github.com/canonical/docker-charmcraft/internal/faultproxy"
)

// TestPushDaemonStalls: a docker save that sends nothing for the stall
// timeout, before its first byte or midway, ends the push with a
// *DaemonStallError naming the export, and nothing is pushed after; a
// registry slower than that timeout is no stall of the daemon.
func TestPushDaemonStalls(t *testing.T) {
	fx := loadFixture(t, "legacy")
	const idle = 100 * time.Millisecond
	for _, tt := range []struct {
		name string
		set  func(*fakeDaemon)
	}{
		{"before it answers", func(d *fakeDaemon) { d.hang = true }},
		{"midway", func(d *fakeDaemon) { d.stallAt = 10 << 10 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, d := newWorld(t), newDaemon(fx)
			tt.set(d)
			r := push(t, w, d, full(fx.inspect.ID), imagepush.WithStallTimeout(idle))
			stall, ok := errors.AsType[*imagepush.DaemonStallError](r.err)
			if !ok {
				t.Fatalf("got %v, want a *DaemonStallError", r.err)
			}
			want := "the Docker daemon sent nothing for 100ms while exporting image " + fx.inspect.ID
			if r.err.Error() != want || stall.Idle != idle {
				t.Errorf("got %q, want %q", r.err, want)
			}
			if n := w.proxy.Count(http.MethodPut, w.path("manifests/*")); n != 0 {
				t.Errorf("%d manifest PUTs after the daemon stalled, want none", n)
			}
		})
	}
	t.Run("a slow registry is no stall", func(t *testing.T) {
		w, d := newWorld(t), newDaemon(fx)
		// Every blob streams in the foreground, and the first is
		// committed well after the daemon's stall timeout: the export is
		// not read meanwhile. (A stall timeout of 1s leaves a margin for
		// a loaded machine, where a read of the fixture may be slow.)
		w.proxy.Add(faultproxy.Rule{Method: http.MethodPut, Path: w.path("blobs/uploads/*"), Times: 1,
			Fault: faultproxy.Fault{Kind: faultproxy.StallAnswer, Delay: 2500 * time.Millisecond}})
		r := push(t, w, d, full(fx.inspect.ID), imagepush.WithStallTimeout(time.Second), imagepush.WithUploads(1, 0))
		wantKinds(t, r, cold)
		checkManifest(t, w, r.res.Digest, fx)
		if n := w.proxy.Faulted(); n != 1 {
			t.Errorf("%d registry answers held, want 1", n)
		}
	})
}
