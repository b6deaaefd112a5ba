package imagepush

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// DaemonStallError says the Docker daemon sent nothing for Idle while it
// was doing something for Push: exporting an image, or pushing it. A
// daemon that streams nothing for that long is stuck, and waiting longer
// does not help.
type DaemonStallError struct {
	// Idle is how long the daemon sent nothing.
	Idle time.Duration
	// Doing says what the daemon was asked to do: "exporting image
	// sha256:…".
	Doing string
}

func (e *DaemonStallError) Error() string {
	return fmt.Sprintf("the Docker daemon sent nothing for %s while %s", e.Idle, e.Doing)
}

// watchdog bounds the silences of a daemon call whose answer is a
// stream: once the daemon has gone idle without progress, the call's
// context is cancelled with a *DaemonStallError. Until the daemon moves
// on at all, a silence may last first; after, idle.
type watchdog struct {
	first, idle time.Duration
	timer       *time.Timer
	started     atomic.Bool // the daemon moved on once
	err         atomic.Pointer[DaemonStallError]
}

// watch returns the context for a daemon call that does doing, and its
// watchdog, armed: the call waits for the daemon until it answers. stop
// releases both; it must be called once the call and its stream are over.
func watch(ctx context.Context, first, idle time.Duration, doing string) (_ context.Context, _ *watchdog, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	w := &watchdog{first: first, idle: idle}
	w.timer = time.AfterFunc(first, func() {
		err := &DaemonStallError{Idle: w.bound(), Doing: doing}
		w.err.Store(err)
		cancel(err)
	})
	return ctx, w, func() {
		w.timer.Stop()
		cancel(context.Canceled)
	}
}

// bound is how long the daemon may be silent now.
func (w *watchdog) bound() time.Duration {
	if w.started.Load() {
		return w.idle
	}
	return w.first
}

// wait restarts the wait for the daemon, after a pause.
func (w *watchdog) wait() { w.timer.Reset(w.bound()) }

// progress restarts the wait: the daemon moved on.
func (w *watchdog) progress() {
	w.started.Store(true)
	w.timer.Reset(w.idle)
}

// pause stops the wait: what comes next is not the daemon's doing.
func (w *watchdog) pause() { w.timer.Stop() }

// stalled is the stall that cancelled the call, if one did.
func (w *watchdog) stalled() error {
	if err := w.err.Load(); err != nil {
		return err
	}
	return nil
}

// reader is r, the stream of the call w watches, read by a reader that
// may take its time between reads (a slow upload of what was read is no
// stall of the daemon): only a Read counts as a wait for the daemon, and
// any byte as progress. Closing it closes r, then calls stop.
func (w *watchdog) reader(r io.ReadCloser, stop func()) io.ReadCloser {
	w.pause()
	return &watchedReader{r: r, w: w, stop: stop}
}

type watchedReader struct {
	r    io.ReadCloser
	w    *watchdog
	stop func()
}

func (r *watchedReader) Read(p []byte) (int, error) {
	r.w.wait()
	n, err := r.r.Read(p)
	if n > 0 {
		r.w.started.Store(true)
	}
	r.w.pause()
	if stall := r.w.stalled(); stall != nil {
		return n, stall
	}
	return n, err
}

func (r *watchedReader) Close() error {
	err := r.r.Close()
	r.stop()
	return err
}
