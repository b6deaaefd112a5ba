package dockersave

import (
	"bytes"
	"context"
	"io"

	"github.com/canonical/docker-charmcraft/internal/mediatype"
	"github.com/opencontainers/go-digest"
)

// pushCompressed pushes the compressed blob being read from s.br as it
// is, and decompresses a copy on the side to learn its diff ID. A blob
// named by its digest (OCI layout) is pushed only if the registry lacks
// it, and must hash to its name.
func (s *session) pushCompressed(ctx context.Context, name string, size int64, head []byte) (*blob, error) {
	mediaType, format := mediatype.DockerLayer, formatGzip
	if bytes.HasPrefix(head, zstdMagic) {
		mediaType, format = mediatype.OCILayerZstd, formatZstd
	}
	d, known := blobDigest(name)
	s.emit(Event{Kind: Preparing, Name: name, Digest: d, Total: size})
	src := s.newSource(name, size, "")
	diff := startDiffID(format)
	r := io.TeeReader(src, diff)
	var b *blob
	var err error
	if known {
		b, err = s.pushNamed(ctx, name, d, size, r, src)
	} else {
		b, err = s.pushUnnamed(ctx, name, r, src)
	}
	diffID, diffErr := diff.finish()
	if err != nil {
		return nil, err
	}
	b.desc.MediaType, b.diffID, b.diffErr = mediaType, diffID, diffErr
	kind := Pushed
	if !b.pushed {
		kind = Exists
	}
	s.emit(Event{Kind: kind, Name: name, DiffID: diffID, Digest: b.desc.Digest, Done: size, Total: size})
	return b, nil
}

// pushNamed pushes a blob whose digest d is known, unless the registry
// has it; either way it checks that the bytes hash to d.
func (s *session) pushNamed(ctx context.Context, name string, d digest.Digest, size int64, r io.Reader, src *source) (*blob, error) {
	exists, err := s.store.BlobExists(ctx, d)
	if err != nil {
		return nil, pushErr("blob", name, err)
	}
	b := &blob{desc: Descriptor{Digest: d, Size: size}, pushed: !exists}
	if exists {
		_, err = io.Copy(io.Discard, r)
	} else {
		err = s.store.PushBlob(ctx, &verifier{r: r, src: src, want: d}, size, d)
	}
	switch {
	case src.err != nil:
		return nil, entryError(name, src.err)
	case src.eof && src.digest() != d:
		return nil, errorf(ErrDigestMismatch, "blob %q hashes to %s, not to its name", name, src.digest())
	case err != nil && !exists:
		return nil, pushErr("blob", name, err)
	case err != nil:
		return nil, entryError(name, err)
	case !src.eof:
		return nil, pushErr("blob", name, errPushReturned)
	}
	if b.pushed {
		s.bytesPushed += size
	}
	return b, nil
}

// pushUnnamed pushes a compressed blob whose digest is learnt on the way.
func (s *session) pushUnnamed(ctx context.Context, name string, r io.Reader, src *source) (*blob, error) {
	desc, err := s.store.PushBlobStream(ctx, r, func(int64) {})
	switch {
	case src.err != nil:
		return nil, entryError(name, src.err)
	case err != nil:
		return nil, pushErr("blob", name, err)
	case !src.eof:
		return nil, pushErr("blob", name, errPushReturned)
	case desc.Digest != src.digest() || desc.Size != src.n:
		return nil, errorf(ErrDigestMismatch, "pushing blob %q: the registry reports %s (%d bytes) for %s (%d bytes)",
			name, desc.Digest, desc.Size, src.digest(), src.n)
	}
	s.bytesPushed += src.n
	return &blob{desc: Descriptor{Digest: desc.Digest, Size: desc.Size}, pushed: true}, nil
}

// verifier fails the read that reaches the end of a blob that does not
// hash to its expected digest, so that the upload is not completed.
type verifier struct {
	r    io.Reader
	src  *source
	want digest.Digest
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	if err == io.EOF && v.src.digest() != v.want {
		return n, errorf(ErrDigestMismatch, "blob hashes to %s, not to %s", v.src.digest(), v.want)
	}
	return n, err
}
