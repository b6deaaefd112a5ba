package manifest

import "github.com/opencontainers/go-digest"

// Cache remembers which compressed blob an uncompressed layer became, so
// that a later Build can skip compressing it again. Entries are keyed by
// the layer's diff ID and the Compressor's ID, since another compressor
// gives other bytes. A Cache is only a hint: Build checks that the
// registry holds the blob and that the layer hashes to its diff ID.
type Cache interface {
	// Get returns the compressed blob recorded for the layer, if any.
	Get(diffID digest.Digest, compressorID string) (Descriptor, bool)
	// Put records that the layer compressed to d, which is now pushed.
	Put(diffID digest.Digest, compressorID string, d Descriptor)
}
