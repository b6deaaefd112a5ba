// Package testutil holds helpers that the tests of several packages share.
// Only tests import it.
package testutil

import (
	"bytes"
	"io"
	"sync"
)

// SyncBuffer is a bytes.Buffer safe for concurrent use, for logs written
// from several goroutines.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// PatternReader reads size bytes repeating pattern, without holding them:
// a large upload that costs no memory in the test itself.
type PatternReader struct {
	pattern   []byte
	off, size int64
}

// NewPatternReader returns a reader of size bytes of pattern, repeated.
// A pattern whose length does not divide common buffer sizes makes every
// read start somewhere else in it.
func NewPatternReader(pattern []byte, size int64) *PatternReader {
	return &PatternReader{pattern: pattern, size: size}
}

func (r *PatternReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.size-r.off)]
	n := 0
	for n < len(p) {
		n += copy(p[n:], r.pattern[(r.off+int64(n))%int64(len(r.pattern)):])
	}
	r.off += int64(n)
	return n, nil
}
