package plugin

import (
	"fmt"
	"io"
	"os"
)

// unchangedFile is the file of an upload, opened again for each attempt.
// An attempt fails, and the upload with it, when the file is not as it
// was when the upload began, when opened or once read to its end: what is
// sent is the content of one moment, whole, or nothing is published.
type unchangedFile struct {
	path  string
	first os.FileInfo
}

// open implements the open of charmhub.Client.Upload.
func (u *unchangedFile) open() (io.ReadCloser, error) {
	f, err := os.Open(u.path)
	if err != nil {
		return nil, err
	}
	if err := u.check(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return &checkedAtEnd{File: f, u: u}, nil
}

// check fails if f is no longer the file first seen, or was written since:
// another file in its place, another size, modification time or, where
// the system keeps one, change time (moved by any write, and which no
// user can set back).
func (u *unchangedFile) check(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	why := ""
	switch {
	case !os.SameFile(u.first, fi):
		why = "another file took its place"
	case fi.Size() != u.first.Size():
		why = fmt.Sprintf("its size went from %d to %d bytes", u.first.Size(), fi.Size())
	case !fi.ModTime().Equal(u.first.ModTime()) || changeTime(fi) != changeTime(u.first):
		why = "it was written to"
	default:
		return nil
	}
	return fmt.Errorf("%s changed during its upload (%s), so it was not published: upload it again once it is no longer being written", quotePath(u.path), why)
}

// checkedAtEnd is the file as read for one attempt: the last of the
// size first seen, and its end, are read only if the file is still
// unchanged then.
type checkedAtEnd struct {
	*os.File
	u   *unchangedFile
	pos int64
}

func (r *checkedAtEnd) Read(p []byte) (int, error) {
	n, err := r.File.Read(p)
	before := r.pos
	r.pos += int64(n)
	last := before < r.u.first.Size() && r.pos >= r.u.first.Size()
	if last || err == io.EOF {
		if cerr := r.u.check(r.File); cerr != nil {
			return 0, cerr
		}
	}
	return n, err
}
