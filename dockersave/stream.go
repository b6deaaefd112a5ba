package dockersave

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
)

// streamError explains an error reading the save stream at where.
func streamError(where string, err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(ErrInvalidArchive, "%s: the stream was cut short: %w", where, err)
	case errors.Is(err, tar.ErrHeader), errors.Is(err, tar.ErrInsecurePath):
		return errorf(ErrInvalidArchive, "%s: not a valid tar archive: %w", where, err)
	}
	return fmt.Errorf("%s: %w", where, err)
}

// entryError explains an error reading the entry name.
func entryError(name string, err error) error {
	return streamError(fmt.Sprintf("entry %q", name), err)
}

// untilDone is r, which stops reading once ctx is done, so that a slow
// or stuck daemon stream does not outlive the caller's deadline by more
// than one read.
func untilDone(ctx context.Context, r io.Reader) io.Reader {
	return readerFunc(func(p []byte) (int, error) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		return r.Read(p)
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// pushError is an error from the BlobStore: it is reported as it is,
// not as an error reading the stream.
type pushError struct {
	what string
	err  error
}

func (e *pushError) Error() string { return "pushing " + e.what + ": " + e.err.Error() }
func (e *pushError) Unwrap() error { return e.err }

// pushErr is the error of pushing the entry name, a layer or a blob.
func pushErr(what, name string, err error) error {
	return &pushError{what: fmt.Sprintf("%s %q", what, name), err: err}
}
