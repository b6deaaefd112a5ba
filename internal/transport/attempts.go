package transport

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// replayKey marks a request that may be sent again in full although its
// method is not idempotent, e.g. a storage upload (each attempt is a fresh
// upload) or the opening of a registry upload session.
type replayKey struct{}

// WithReplay marks the requests made with ctx as safe to send again.
func WithReplay(ctx context.Context) context.Context {
	return context.WithValue(ctx, replayKey{}, true)
}

// Replay says whether ctx was marked by WithReplay.
func Replay(ctx context.Context) bool { return ctx.Value(replayKey{}) != nil }

// attemptsKey carries an *atomic.Int32 in which a retry layer writes how
// many times it sent the request it handled, for the error.
type attemptsKey struct{}

// CountAttempts returns req with a counter of its attempts, which a retry
// layer sets with NoteAttempts.
func CountAttempts(req *http.Request) (*http.Request, *atomic.Int32) {
	n := new(atomic.Int32)
	return req.WithContext(context.WithValue(req.Context(), attemptsKey{}, n)), n
}

// NoteAttempts records that the request of ctx was sent n times.
func NoteAttempts(ctx context.Context, n int) {
	if c, ok := ctx.Value(attemptsKey{}).(*atomic.Int32); ok {
		c.Store(int32(n)) //nolint:gosec // n is at most the attempts configured
	}
}

// AfterAttempts says, for an error message, how many attempts an error
// comes after, if more than one: " (after 4 attempts)".
func AfterAttempts(n int) string {
	if n <= 1 {
		return ""
	}
	return fmt.Sprintf(" (after %d attempts)", n)
}

// Sleep waits for d, or until ctx is done, whichever comes first; it
// returns ctx's error in the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
