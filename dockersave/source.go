package dockersave

import (
	_ "crypto/sha256" // go-digest's sha256 needs it linked in
	"errors"
	"hash"
	"io"

	"github.com/opencontainers/go-digest"
)

// errPushReturned tells a writer that the push it fed has returned.
var errPushReturned = errors.New("the registry push returned before reading the whole blob")

// source reads the current entry, hashing and counting what it reads,
// reporting progress, and remembering a read error (which a compressor or
// a push might otherwise hide behind its own).
type source struct {
	s      *session
	name   string
	diffID digest.Digest // for progress events, if known
	size   int64
	h      hash.Hash
	n      int64
	next   int64 // n at which to report progress next
	err    error
	eof    bool
}

func (s *session) newSource(name string, size int64, diffID digest.Digest) *source {
	return &source{s: s, name: name, diffID: diffID, size: size, h: digest.Canonical.Hash(), next: progressStep}
}

func (r *source) Read(p []byte) (int, error) {
	n, err := r.s.br.Read(p)
	_, _ = r.h.Write(p[:n])
	r.n += int64(n)
	switch {
	case errors.Is(err, io.EOF):
		r.eof = true
	case err != nil && r.err == nil:
		r.err = err
	}
	if r.n >= r.next && r.n < r.size {
		r.next = r.n + progressStep
		r.s.emit(Event{Kind: Pushing, Name: r.name, DiffID: r.diffID, Done: r.n, Total: r.size})
	}
	return n, err
}

// digest is the sha256 of what was read.
func (r *source) digest() digest.Digest {
	return digest.NewDigest(digest.SHA256, r.h)
}

// countingWriter counts what it writes to w.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (s *session) emit(e Event) {
	if s.opts.progress != nil {
		s.opts.progress(e)
	}
}
