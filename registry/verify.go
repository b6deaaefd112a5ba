package registry

import (
	_ "crypto/sha256" // digests name their algorithm; make the
	_ "crypto/sha512" // ones go-digest knows available
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/opencontainers/go-digest"
)

// checkedReader hashes and counts what it passes on. Given a size, it
// fails on more or fewer bytes; given a digest, it fails at the end if the
// content does not have it. It makes sure of both before it passes on the
// last bytes, so that a request streaming wrong content is cut short and
// the registry never holds the whole of it.
type checkedReader struct {
	r        io.Reader
	alg      digest.Algorithm
	h        hash.Hash
	n        int64
	size     int64         // -1: unknown
	want     digest.Digest // "": unknown
	progress func(int64)

	eof bool  // the end was reached and found right
	err error // a mismatch, or the first error reading r

	// mu is held while r is read: stop takes it to make sure no read is
	// under way, and none starts after, once a request is over (the
	// transport may still read its body after it returned).
	mu      sync.Mutex
	stopped bool
}

// stop ends the reading of r, and returns once no read is under way.
// Then the fields may be read.
func (c *checkedReader) stop() {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
}

var errStopped = errors.New("the request is over")

// newCheckedReader reads r, checking size unless it is -1 and want unless it
// is empty (then it computes the canonical digest). want must be valid.
func newCheckedReader(r io.Reader, size int64, want digest.Digest) *checkedReader {
	alg := digest.Canonical
	if want != "" {
		alg = want.Algorithm()
	}
	return &checkedReader{r: r, alg: alg, h: alg.Hash(), size: size, want: want}
}

func (c *checkedReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return 0, errStopped
	}
	if c.err != nil {
		return 0, c.err
	}
	if c.eof {
		return 0, io.EOF
	}
	n, err := c.r.Read(p)
	if c.size >= 0 && c.n+int64(n) > c.size {
		return 0, c.fail("more than the %d bytes announced", c.size)
	}
	c.h.Write(p[:n])
	c.n += int64(n)
	if err == nil && c.n == c.size {
		err = c.probeEnd()
	}
	switch {
	case errors.Is(err, io.EOF):
		c.eof = true
		if c.size >= 0 && c.n < c.size {
			return 0, c.fail("%d bytes, want %d", c.n, c.size)
		}
		if c.want != "" && c.Digest() != c.want {
			return 0, c.fail("digest %s, want %s", c.Digest(), c.want)
		}
		err = io.EOF
	case err != nil:
		if c.err == nil {
			c.err = err
		}
		return 0, c.err
	}
	if n > 0 && c.progress != nil {
		c.progress(c.n)
	}
	return n, err
}

// probeEnd checks r has nothing after the size bytes announced, and
// returns io.EOF if so.
func (c *checkedReader) probeEnd() error {
	var one [1]byte
	for range 100 {
		m, err := c.r.Read(one[:])
		if m > 0 {
			return c.fail("more than the %d bytes announced", c.size)
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

func (c *checkedReader) fail(format string, args ...any) error {
	c.err = fmt.Errorf("%w: %s", ErrDigestMismatch, fmt.Sprintf(format, args...))
	return c.err
}

// Digest is the digest of what was read so far.
func (c *checkedReader) Digest() digest.Digest { return digest.NewDigest(c.alg, c.h) }

// checkedBody is a checked response body.
type checkedBody struct {
	*checkedReader
	io.Closer
}
