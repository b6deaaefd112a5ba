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
// context is cancelled with a *DaemonStallError.
type watchdog struct {
	idle  time.Duration
	timer *time.Timer
	err   *DaemonStallError
	fired atomic.Bool
}

// watch returns the context for a daemon call that does doing, and its
// watchdog, armed: the call waits for the daemon until it answers. stop
// releases both; it must be called once the call and its stream are over.
func watch(ctx context.Context, idle time.Duration, doing string) (_ context.Context, _ *watchdog, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	w := &watchdog{idle: idle, err: &DaemonStallError{Idle: idle, Doing: doing}}
	w.timer = time.AfterFunc(idle, func() {
		w.fired.Store(true)
		cancel(w.err)
	})
	return ctx, w, func() {
		w.timer.Stop()
		cancel(context.Canceled)
	}
}

// progress restarts the wait: the daemon moved on.
func (w *watchdog) progress() { w.timer.Reset(w.idle) }

// pause stops the wait: what comes next is not the daemon's doing.
func (w *watchdog) pause() { w.timer.Stop() }

// stalled is the stall that cancelled the call, if one did.
func (w *watchdog) stalled() error {
	if w.fired.Load() {
		return w.err
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
	r.w.progress()
	n, err := r.r.Read(p)
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
