package charmhub

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"sync"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// multipartBody is the form storage expects: one part named "binary"
// holding the content. It is produced on demand through a pipe, so only
// a copy buffer is ever in memory.
type multipartBody struct {
	boundary, filename string
	size               int64
	open               func() (io.ReadCloser, error)
	progress           func(int64)

	// mu serializes progress calls; only the latest attempt (gen)
	// reports, as an abandoned one may still be winding down.
	mu  sync.Mutex
	gen int
	// pipes are the bodies handed out, closed by stop; writers counts
	// the goroutines writing them.
	pipes   []*io.PipeReader
	writers sync.WaitGroup
	// sent is the digest of the content the latest attempt sent in full.
	sent *sentContent
}

// sentContent is what an upload sent: its size and sha256, hex.
type sentContent struct {
	size   int64
	sha256 string
}

func newMultipartBody(filename string, size int64, open func() (io.ReadCloser, error), progress func(int64)) *multipartBody {
	return &multipartBody{
		boundary: multipart.NewWriter(io.Discard).Boundary(),
		filename: filename, size: size, open: open, progress: progress,
	}
}

func (b *multipartBody) contentType() string {
	return "multipart/form-data; boundary=" + b.boundary
}

func (b *multipartBody) writer(w io.Writer) *multipart.Writer {
	mw := multipart.NewWriter(w)
	_ = mw.SetBoundary(b.boundary) // valid: made by multipart itself
	return mw
}

// length is the exact size of the body: the framing written around an
// empty part, plus the content.
func (b *multipartBody) length() (int64, error) {
	var frame bytes.Buffer
	mw := b.writer(&frame)
	if _, err := mw.CreateFormFile("binary", b.filename); err != nil {
		return 0, err
	}
	if err := mw.Close(); err != nil {
		return 0, err
	}
	return int64(frame.Len()) + b.size, nil
}

// reader opens the content and returns the body, written by a goroutine
// that stops, and closes the content, as soon as the reader is closed.
func (b *multipartBody) reader() (io.ReadCloser, error) {
	content, err := b.open()
	if err != nil {
		return nil, transport.Local(fmt.Errorf("opening the content: %w", err))
	}
	pr, pw := io.Pipe()
	b.mu.Lock()
	b.gen++
	gen := b.gen
	b.pipes = append(b.pipes, pr)
	b.writers.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.writers.Done()
		defer func() { _ = content.Close() }()
		_ = pw.CloseWithError(b.write(pw, content, gen))
	}()
	return pr, nil
}

// stop ends every attempt still writing, and returns once none is: then
// no content is read any more, and every content opened is closed.
func (b *multipartBody) stop() {
	b.mu.Lock()
	for _, pr := range b.pipes {
		_ = pr.CloseWithError(errStopped)
	}
	b.mu.Unlock()
	b.writers.Wait()
}

var errStopped = errors.New("the upload is over")

// content is what the latest attempt sent in full, or nil.
func (b *multipartBody) content() *sentContent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sent
}

// write writes the whole form for attempt gen, checking the content has
// the size announced in Content-Length, and hashing it.
func (b *multipartBody) write(w io.Writer, content io.Reader, gen int) error {
	mw := b.writer(w)
	part, err := mw.CreateFormFile("binary", b.filename)
	if err != nil {
		return err
	}
	h := sha256.New()
	src := &countingReader{r: io.TeeReader(io.LimitReader(content, b.size), h), progress: func(n int64) { b.report(gen, n) }}
	if _, err := io.Copy(part, src); err != nil {
		return err
	}
	if src.n != b.size {
		return transport.Local(fmt.Errorf("the content has %d bytes, not the %d announced", src.n, b.size))
	}
	// Reading past the end also lets the content fail at its end, as a
	// file found changed once read (see the open given to Upload).
	n, err := io.ReadFull(content, make([]byte, 1))
	if n > 0 {
		return transport.Local(fmt.Errorf("the content has more than the %d bytes announced", b.size))
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return transport.Local(fmt.Errorf("reading the content: %w", err))
	}
	b.mu.Lock()
	if gen == b.gen {
		b.sent = &sentContent{size: src.n, sha256: hex.EncodeToString(h.Sum(nil))}
	}
	b.mu.Unlock()
	return mw.Close()
}

func (b *multipartBody) report(gen int, sent int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if gen == b.gen && b.progress != nil {
		b.progress(sent)
	}
}

// countingReader counts what is read, reports it, and marks read errors
// as local.
type countingReader struct {
	r        io.Reader
	n        int64
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if n > 0 {
		c.progress(c.n)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		err = transport.Local(fmt.Errorf("reading the content: %w", err))
	}
	return n, err
}
