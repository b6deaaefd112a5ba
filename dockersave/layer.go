package dockersave

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"

	"github.com/canonical/docker-charmcraft/internal/mediatype"
	"github.com/canonical/docker-charmcraft/internal/resumekey"
	"github.com/opencontainers/go-digest"
)

// blob is a layer the stream carried, and what became of it.
type blob struct {
	diffID digest.Digest // sha256 of the uncompressed tar
	desc   Descriptor    // the blob the registry holds
	pushed bool          // false: the registry had it already
}

// pushLayer compresses the uncompressed layer tar being read from s.br and
// streams it to the registry, computing its diff ID on the way; or, when
// the cache knows the layer (by the name's diff ID, or by the layer's
// fingerprint) and the registry has its blob, only checks it.
func (s *session) pushLayer(ctx context.Context, name string, size int64) (*blob, error) {
	known, _ := blobDigest(name) // OCI layout: the blob's digest is its diff ID
	fp, guess := s.recognise(known, size)
	s.emit(Event{Kind: Preparing, Name: name, DiffID: cmp.Or(known, guess), Total: size})
	if hint := cmp.Or(known, guess); hint != "" && s.opts.cache != nil {
		if b, err := s.fromCache(ctx, name, hint, size, known == ""); b != nil || err != nil {
			return b, err
		}
	}
	b, err := s.compress(ctx, name, size, known, s.resumeKey(cmp.Or(string(known), fp)))
	if err != nil {
		return nil, err
	}
	if known != "" && b.diffID != known {
		return nil, errorf(ErrDigestMismatch, "layer %q hashes to %s, not to its name", name, b.diffID)
	}
	if s.opts.cache != nil {
		s.opts.cache.Put(b.diffID, s.opts.compressor.ID(), b.desc)
		if fp != "" {
			s.opts.cache.PutDiffID(fp, b.diffID)
		}
	}
	return b, nil
}

// recognise returns the fingerprint of a layer whose diff ID is not known
// from its name, and the diff ID the cache last saw with it, if any.
func (s *session) recognise(known digest.Digest, size int64) (fp string, diffID digest.Digest) {
	if s.opts.cache == nil || known != "" {
		return "", ""
	}
	head, err := s.br.Peek(int(min(size, fingerprintLen)))
	if err != nil {
		return "", "" // a short entry: reading it says what is wrong
	}
	fp = fingerprint(size, head)
	diffID, _ = s.opts.cache.DiffID(fp)
	return fp, diffID
}

// fromCache returns the blob the cache recorded for diffID if the registry
// still has it, once the layer read hashes to diffID; nil if it cannot. A
// guessed diffID that the layer does not hash to is ErrStaleCache.
func (s *session) fromCache(ctx context.Context, name string, diffID digest.Digest, size int64, guessed bool) (*blob, error) {
	d, ok := s.opts.cache.Get(diffID, s.opts.compressor.ID())
	if !ok || d.Digest.Validate() != nil {
		return nil, nil
	}
	exists, err := s.store.BlobExists(ctx, d.Digest)
	if err != nil {
		return nil, pushErr("layer", name, err)
	}
	if !exists {
		return nil, nil
	}
	// Read to check it, not sent: no Pushing events, as docker push shows
	// none for a layer the registry has.
	src := s.newSource(name, size, diffID)
	src.next = size
	if _, err := io.Copy(io.Discard, src); err != nil {
		return nil, entryError(name, err)
	}
	switch got := src.digest(); {
	case got != diffID && guessed:
		return nil, errorf(ErrStaleCache, "layer %q hashes to %s, not to %s as its fingerprint said", name, got, diffID)
	case got != diffID:
		return nil, errorf(ErrDigestMismatch, "layer %q hashes to %s, not to its name", name, got)
	}
	desc := Descriptor{MediaType: mediatype.DockerLayer, Digest: d.Digest, Size: d.Size}
	s.emit(Event{Kind: Exists, Name: name, DiffID: diffID, Digest: d.Digest, Done: size, Total: size})
	return &blob{diffID: diffID, desc: desc}, nil
}

// resumeKey names the compressed stream of the layer that id (its diff
// ID, else its fingerprint) names, for the store to resume an upload of
// it an earlier run left: the compressor, deterministic, makes the same
// bytes again. "" without a cache, which keeps no sessions.
func (s *session) resumeKey(id string) string {
	if id == "" || s.opts.cache == nil {
		return ""
	}
	return "layer " + id + " " + s.opts.compressor.ID()
}

// compress streams the compressed layer to PushBlobStream through a pipe:
// the compressor writes in this goroutine, the push reads in another.
// resume, if not "", names the stream (see resumekey).
func (s *session) compress(ctx context.Context, name string, size int64, diffID digest.Digest, resume string) (*blob, error) {
	src := s.newSource(name, size, diffID)
	pr, pw := io.Pipe()
	pushed := make(chan pushResult, 1)
	if resume != "" {
		ctx = resumekey.With(ctx, resume)
	}
	go func() {
		d, err := s.store.PushBlobStream(ctx, pr, func(int64) {})
		_ = pr.CloseWithError(errPushReturned) // unblocks the compressor if the push stopped reading
		pushed <- pushResult{d, err}
	}()
	out := &countingWriter{w: pw}
	bw := bufio.NewWriterSize(out, 64<<10)
	err := s.opts.compressor.Compress(bw, src)
	if err == nil {
		err = bw.Flush()
	}
	_ = pw.CloseWithError(err) // nil: the push reads io.EOF
	res := <-pushed
	switch {
	case src.err != nil:
		return nil, entryError(name, src.err)
	case res.err != nil:
		return nil, pushErr("layer", name, res.err)
	case err != nil:
		return nil, fmt.Errorf("compressing layer %q: %w", name, err)
	case !src.eof:
		return nil, fmt.Errorf("compressing layer %q: the compressor stopped before the end", name)
	}
	// The store hashed the bytes as it sent them (and the registry checks
	// them against that digest): hashing them here too would cost a third
	// of the time it takes to compress them.
	desc := Descriptor{MediaType: mediatype.DockerLayer, Digest: res.desc.Digest, Size: out.n}
	if res.desc.Size != desc.Size || desc.Digest.Validate() != nil {
		return nil, errorf(ErrDigestMismatch, "pushing layer %q: the registry reports %q (%d bytes) for the %d bytes sent",
			name, res.desc.Digest, res.desc.Size, desc.Size)
	}
	s.bytesPushed += desc.Size
	b := &blob{diffID: src.digest(), desc: desc, pushed: true}
	s.emit(Event{Kind: Pushed, Name: name, DiffID: b.diffID, Digest: desc.Digest, Done: size, Total: size})
	return b, nil
}

type pushResult struct {
	desc Descriptor
	err  error
}
