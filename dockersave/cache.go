package dockersave

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/canonical/docker-charmcraft/internal/mediatype"
	"github.com/opencontainers/go-digest"
)

// Cache remembers which compressed blob an uncompressed layer became, so
// that a later Build can skip compressing it again. Entries are keyed by
// the layer's diff ID and the Compressor's ID, since another compressor
// gives other bytes. Build takes an entry as a hint only: it checks that
// the registry holds the blob and that the layer hashes to its diff ID.
// FromCache, which reads no layer, trusts the entries: a Cache must
// return an entry only for the layer it was recorded for, and only from
// a writer as trusted as the user (see layercache).
type Cache interface {
	// Get returns the compressed blob recorded for the layer, if any.
	Get(diffID digest.Digest, compressorID string) (Descriptor, bool)
	// Put records that the layer compresses to d. The blob may not be in
	// the registry (a dry run records it too): Build and its callers ask.
	Put(diffID digest.Digest, compressorID string, d Descriptor)
	// DiffID returns the diff ID of the layer last seen with this
	// fingerprint: its size and first bytes. The legacy docker save layout
	// names layers by an ID that changes whenever the image is rebuilt, so
	// a layer must be recognised by what it starts with.
	DiffID(fingerprint string) (digest.Digest, bool)
	// PutDiffID records the diff ID of the layer with this fingerprint.
	PutDiffID(fingerprint string, diffID digest.Digest)
}

// fingerprintLen is how much of a layer its fingerprint covers: what the
// entry reader holds anyway. Tar headers (names, sizes, times) come first,
// so two different layers rarely share it; when they do, the diff ID check
// catches it and Build fails with ErrStaleCache.
const fingerprintLen = 64 << 10

// fingerprint identifies a layer tar before it is read: its size and the
// sha256 of its first bytes.
func fingerprint(size int64, head []byte) string {
	h := sha256.New()
	h.Write([]byte(strconv.FormatInt(size, 10) + "\n"))
	h.Write(head)
	return hex.EncodeToString(h.Sum(nil))
}

// FromCache builds the remote manifest of an image from c alone, when it
// knows every layer: no docker save needed. config is the image config's
// descriptor (its digest is the image ID of the classic image store). The
// layers' blobs may have gone from the registry since: the caller checks.
// No layer is read, so the result is as right as c's entries are.
func FromCache(c Cache, compressorID string, config Descriptor, diffIDs []digest.Digest) (*Result, bool) {
	if c == nil || len(diffIDs) == 0 {
		return nil, false
	}
	res := &Result{MediaType: mediatype.DockerManifest, Config: config}
	for _, id := range diffIDs {
		d, ok := c.Get(id, compressorID)
		if !ok || d.Digest.Validate() != nil || d.Size <= 0 {
			return nil, false
		}
		desc := Descriptor{MediaType: mediatype.DockerLayer, Digest: d.Digest, Size: d.Size}
		res.Layers = append(res.Layers, Layer{DiffID: id, Descriptor: desc})
	}
	res.Manifest = marshalSchema2(res.Config, res.Layers)
	res.Digest = digest.FromBytes(res.Manifest)
	return res, true
}

// DefaultCompressor is the Compressor Build uses unless told otherwise:
// its ID keys the cache entries Build writes.
func DefaultCompressor() Compressor {
	return ParallelGzip(DefaultGzipLevel, DefaultBlockSize, 0)
}
