package charmhub

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"sync"
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
		return nil, &localError{fmt.Errorf("opening the content: %w", err)}
	}
	b.mu.Lock()
	b.gen++
	gen := b.gen
	b.mu.Unlock()
	pr, pw := io.Pipe()
	go func() {
		defer content.Close()
		pw.CloseWithError(b.write(pw, content, func(n int64) { b.report(gen, n) }))
	}()
	return pr, nil
}

// write writes the whole form, checking the content has the size
// announced in Content-Length.
func (b *multipartBody) write(w io.Writer, content io.Reader, progress func(int64)) error {
	mw := b.writer(w)
	part, err := mw.CreateFormFile("binary", b.filename)
	if err != nil {
		return err
	}
	src := &countingReader{r: io.LimitReader(content, b.size), progress: progress}
	if _, err := io.Copy(part, src); err != nil {
		return err
	}
	if src.n != b.size {
		return &localError{fmt.Errorf("the content has %d bytes, not the %d announced", src.n, b.size)}
	}
	if n, _ := io.ReadFull(content, make([]byte, 1)); n > 0 {
		return &localError{fmt.Errorf("the content has more than the %d bytes announced", b.size)}
	}
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
	if err != nil && err != io.EOF {
		err = &localError{fmt.Errorf("reading the content: %w", err)}
	}
	return n, err
}
