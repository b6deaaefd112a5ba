package imagepush

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// TestDaemonPushStalls: a daemon push whose messages tell no progress for
// the stall timeout is stopped with a *DaemonStallError, whether the
// daemon goes silent or repeats the same progress; one that moves on
// slower than every message, but within the timeout, goes on.
func TestDaemonPushStalls(t *testing.T) {
	const idle = time.Second
	// Messages every idle/10 (a margin for a loaded machine): 25 of
	// them outlast two stall timeouts.
	moving := func(i int) *jsonstream.Message {
		return &jsonstream.Message{ID: "layer", Status: "Pushing", Progress: &jsonstream.Progress{Current: int64(i)}}
	}
	for _, tt := range []struct {
		name    string
		message func(i int) *jsonstream.Message // nil: silence
		stalls  bool
	}{
		{"progress", moving, false},
		{"the same progress again and again", func(int) *jsonstream.Message { return moving(1) }, true},
		{"silence", func(i int) *jsonstream.Message {
			if i < 3 {
				return moving(i)
			}
			return nil
		}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &messagingDaemon{message: tt.message, every: idle / 10, n: 25}
			p := &pusher{opts: newOptions([]Option{WithStallTimeout(idle)})}
			err := p.daemonPush(t.Context(), d, "registry.test/charm/x:tag", "", "sha256:abc")
			stall, ok := errors.AsType[*DaemonStallError](err)
			switch {
			case !tt.stalls && err != nil:
				t.Fatalf("got %v, want the push to go on", err)
			case tt.stalls && !ok:
				t.Fatalf("got %v, want a *DaemonStallError", err)
			case tt.stalls && stall.Error() != "the Docker daemon sent nothing for 1s while pushing image sha256:abc as registry.test/charm/x:tag":
				t.Errorf("got %q", stall)
			}
		})
	}
}

// messagingDaemon pushes by sending n push messages, one every every
// (message(i), or nothing when it is nil), until its context ends.
type messagingDaemon struct {
	pushingDaemon
	message func(i int) *jsonstream.Message
	every   time.Duration
	n       int
}

func (d *messagingDaemon) ImagePush(ctx context.Context, _ string, _ client.ImagePushOptions) (client.ImagePushResponse, error) {
	pr, pw := io.Pipe()
	// As the moby client's, the stream ends with its context.
	stop := context.AfterFunc(ctx, func() { pw.CloseWithError(ctx.Err()) })
	go func() {
		defer stop()
		enc := json.NewEncoder(pw)
		for i := range d.n {
			select {
			case <-time.After(d.every):
			case <-ctx.Done():
				// Not left to the AfterFunc: stop, deferred, may
				// unregister it before it runs.
				pw.CloseWithError(ctx.Err())
				return
			}
			if m := d.message(i); m != nil {
				_ = enc.Encode(m)
			}
		}
		_ = pw.Close()
	}()
	return pushResponse{r: pr}, nil
}

// pushResponse is the stream of a push; the rest of the moby client's
// answer is not used.
type pushResponse struct {
	client.ImagePushResponse
	r io.ReadCloser
}

func (r pushResponse) Read(p []byte) (int, error) { return r.r.Read(p) }
func (r pushResponse) Close() error               { return r.r.Close() }

// TestWatchdogFirstByte: before the daemon's first byte a silence may
// last the first bound (an export written to disk whole before it is
// sent); after it, only the idle one.
func TestWatchdogFirstByte(t *testing.T) {
	const first, idle = 2 * time.Second, 200 * time.Millisecond
	ctx, w, stop := watch(t.Context(), first, idle, "exporting image sha256:abc")
	pr, pw := io.Pipe()
	// As the moby client's, the stream ends with its context.
	context.AfterFunc(ctx, func() { pr.CloseWithError(context.Cause(ctx)) })
	r := w.reader(pr, stop)
	defer func() { _ = r.Close() }()
	go func() {
		time.Sleep(4 * idle) // longer than idle, within first
		_, _ = pw.Write([]byte("a"))
	}()
	buf := make([]byte, 8)
	if n, err := r.Read(buf); n != 1 || err != nil {
		t.Fatalf("the first byte, after %s: %d bytes, %v", 4*idle, n, err)
	}
	_, err := r.Read(buf) // nothing more comes
	stall, ok := errors.AsType[*DaemonStallError](err)
	if !ok || stall.Idle != idle {
		t.Fatalf("after the first byte: got %v, want a stall of %s", err, idle)
	}
}
