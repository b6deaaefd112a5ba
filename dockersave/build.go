package dockersave

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Build reads save, the docker save stream of one image, in one pass as it
// arrives; pushes the image's layers and config to store; and returns the
// remote manifest, which the caller PUTs by its digest. Nothing is pushed
// for the manifest itself.
//
// Layers are compressed while they are read and streamed to
// store.PushBlobStream. Layers, config and the image ID are checked against each other
// before Build returns. On error, some blobs may have been pushed already:
// they are harmless, and found by the next run.
func Build(ctx context.Context, save io.Reader, store BlobStore, opts ...Option) (*Result, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	s := &session{
		store: store,
		opts:  o,
		lim:   o.limits,
		br:    bufio.NewReaderSize(nil, 64<<10),
		files: make(map[string]*entry),
	}
	res, err := s.run(ctx, save)
	var perr *pushError
	if err != nil && !errors.As(err, &perr) && ctx.Err() == nil {
		err = fmt.Errorf("reading docker save stream: %w", err)
	}
	return res, err
}

// session is one run of Build.
type session struct {
	store BlobStore
	opts  *options
	lim   limits
	br    *bufio.Reader // reads the current entry

	files       map[string]*entry // regular files and links, by clean path
	jsonTotal   int64
	bytesPushed int64
}

func (s *session) run(ctx context.Context, save io.Reader) (*Result, error) {
	if err := s.read(ctx, save); err != nil {
		return nil, err
	}
	return s.finish(ctx)
}

// read processes the tar's entries in the order they come.
func (s *session) read(ctx context.Context, save io.Reader) error {
	tr := tar.NewReader(untilDone(ctx, save))
	where := "at the start"
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return streamError(where, err)
		}
		if n == s.lim.entries {
			return errorf(ErrLimit, "more than %d entries", s.lim.entries)
		}
		if err := s.add(ctx, hdr, tr); err != nil {
			return err
		}
		where = fmt.Sprintf("after entry %q", hdr.Name)
	}
}

// add records one entry, pushing it if it is a layer.
func (s *session) add(ctx context.Context, hdr *tar.Header, r io.Reader) error {
	if isSparse(hdr) {
		// Its holes read as zeros: a few bytes could claim terabytes.
		return errorf(ErrInvalidArchive, "entry %q is a sparse file, which docker save never writes", prefix(hdr.Name))
	}
	if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeSymlink && hdr.Typeflag != tar.TypeLink {
		return nil // directories and the like: nothing docker save puts there matters
	}
	name, err := cleanName(hdr.Name, s.lim)
	if err != nil {
		return err
	}
	if _, dup := s.files[name]; dup {
		return errorf(ErrInvalidArchive, "entry %q appears twice", name)
	}
	var e *entry
	if hdr.Typeflag == tar.TypeReg {
		e, err = s.readFile(ctx, name, hdr.Size, r)
	} else {
		e, err = s.readLink(name, hdr)
	}
	if err != nil {
		return err
	}
	s.files[name] = e
	return nil
}

// isSparse tells a GNU sparse file, in the old format or the PAX one.
func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}
