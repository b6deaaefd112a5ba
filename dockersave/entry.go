package dockersave

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"path"

	"github.com/opencontainers/go-digest"
)

type entryKind int

const (
	kindOther entryKind = iota // read past
	kindJSON                   // kept in memory
	kindLayer                  // uncompressed layer tar: compressed and pushed
	kindLink                   // symlink or hard link to another entry
)

// entry is what the session learnt of one archive entry.
type entry struct {
	kind    entryKind
	size    int64
	bigJSON bool   // kindOther only because it is over the JSON size limit
	link    string // kindLink: the target's clean path
	json    []byte // kindJSON
	blob    *blob  // kindLayer
}

// sniffLen is how much of an entry is looked at to tell what it is: a tar
// header's magic is at offset 257.
const sniffLen = 512

// skipped are base names of files docker save writes and Build needs not
// read: the legacy layer configs and version files, the repositories and
// oci-layout files.
var skipped = map[string]bool{"VERSION": true, "json": true, "repositories": true, "oci-layout": true}

// metadata are the documents that must fit in memory.
var metadata = map[string]bool{"manifest.json": true, "index.json": true}

func (s *session) readFile(ctx context.Context, name string, size int64, r io.Reader) (*entry, error) {
	e := &entry{size: size}
	if skipped[path.Base(name)] {
		return e, nil
	}
	if metadata[name] && size > s.lim.json {
		return nil, errorf(ErrLimit, "%s is %d bytes, more than the limit of %d", name, size, s.lim.json)
	}
	s.br.Reset(r)
	head, err := s.br.Peek(sniffLen)
	if err != nil && !errors.Is(err, io.EOF) { // EOF: an entry shorter than sniffLen
		return nil, entryError(name, err)
	}
	e.kind, err = sniff(head, size), nil
	switch {
	case e.kind == kindJSON && size > s.lim.json:
		e.kind, e.bigJSON = kindOther, true
	case e.kind == kindJSON:
		e.json, err = s.readJSON(name, size)
	case e.kind == kindLayer:
		e.blob, err = s.pushLayer(ctx, name, size)
	}
	return e, err
}

// sniff tells from its first bytes what an entry holds.
func sniff(head []byte, size int64) entryKind {
	switch {
	case size == 0:
		return kindLayer // an empty tar
	case isTar(head, size):
		return kindLayer
	case looksJSON(head):
		return kindJSON
	}
	return kindOther
}

// isTar recognises a tar by the ustar magic of its first header (POSIX and
// GNU formats alike), or an empty tar: nothing but zero blocks.
func isTar(head []byte, size int64) bool {
	if len(head) < sniffLen {
		return false
	}
	if bytes.Equal(head[257:262], []byte("ustar")) {
		return true
	}
	return size%512 == 0 && bytes.Count(head, []byte{0}) == len(head)
}

func looksJSON(head []byte) bool {
	head = bytes.TrimLeft(head, " \t\r\n")
	return len(head) > 0 && (head[0] == '{' || head[0] == '[')
}

func (s *session) readJSON(name string, size int64) ([]byte, error) {
	if s.jsonTotal+size > s.lim.jsonTotal {
		return nil, errorf(ErrLimit, "JSON documents add up to more than %d bytes at %q", s.lim.jsonTotal, name)
	}
	b, err := io.ReadAll(io.LimitReader(s.br, size))
	if err != nil {
		return nil, entryError(name, err)
	}
	s.jsonTotal += int64(len(b))
	if d, ok := blobDigest(name); ok && digest.FromBytes(b) != d {
		return nil, errorf(ErrDigestMismatch, "%q hashes to %s, not to its name", name, digest.FromBytes(b))
	}
	return b, nil
}

func (s *session) readLink(name string, hdr *tar.Header) (*entry, error) {
	target, err := linkTarget(name, hdr.Linkname, hdr.Typeflag == tar.TypeSymlink, s.lim)
	if err != nil {
		return nil, err
	}
	return &entry{kind: kindLink, link: target}, nil
}
