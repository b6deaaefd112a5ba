package transport

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// SmallAnswerTimeout bounds the reading of a small answer, a token or an
// API's JSON, once its headers came, and the reading of any answer's
// headers once their first byte came: a server that trickles them a byte
// at a time, each in time to beat the stall timeout, is dropped all the
// same (64 KiB in this time is 2 KiB/s at least). See
// Policy.AnswerWithin.
const SmallAnswerTimeout = 30 * time.Second

// SlowError says an answer, or its headers, did not arrive whole in
// time. It is a timeout (a net.Error whose Timeout is true).
type SlowError struct {
	Within time.Duration
	// What is "headers" when the headers were late, else "".
	What string
}

func (e *SlowError) Error() string {
	if e.What != "" {
		return fmt.Sprintf("the answer's %s did not arrive whole within %s of their first byte", e.What, e.Within)
	}
	return fmt.Sprintf("the answer did not arrive whole within %s", e.Within)
}

// Timeout is true: see net.Error.
func (e *SlowError) Timeout() bool { return true }

// Temporary is true: see net.Error.
func (e *SlowError) Temporary() bool { return true }

// ReadAllWithin reads body to its end, at most limit+1 bytes, and fails
// with a *SlowError, closing body, when that takes longer than within.
func ReadAllWithin(body io.ReadCloser, limit int64, within time.Duration) ([]byte, error) {
	var late atomic.Bool
	t := time.AfterFunc(within, func() {
		late.Store(true)
		_ = body.Close()
	})
	defer t.Stop()
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil && late.Load() {
		return data, &SlowError{Within: within}
	}
	return data, err
}
