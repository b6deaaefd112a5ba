package dockersave

import (
	"fmt"
	"io"

	"github.com/canonical/docker-charmcraft/internal/mediatype"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
)

type format int

const (
	formatGzip format = iota
	formatZstd
)

// zstdMaxWindow bounds the memory a zstd blob can make its decoder take;
// zstd's own default levels use windows of 8 MiB at most.
const zstdMaxWindow = 128 << 20

// decompressedDigest is the digest of what r decompresses to, read in
// format f: the diff ID of a compressed layer.
func decompressedDigest(f format, r io.Reader) (digest.Digest, error) {
	var zr io.Reader
	if f == formatZstd {
		dec, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			return "", err
		}
		defer dec.Close()
		zr = dec
	} else {
		gr, err := gzip.NewReader(r)
		if err != nil {
			return "", err
		}
		defer func() { _ = gr.Close() }()
		zr = gr
	}
	return digest.Canonical.FromReader(zr)
}

// LayerDiffID returns the diff ID of a layer blob of media type mt read
// from r: the digest of the tar it decompresses to. A media type other
// than a gzip or zstd layer is an error.
func LayerDiffID(mt string, r io.Reader) (digest.Digest, error) {
	switch mt {
	case mediatype.DockerLayer, mediatype.OCILayerGzip:
		return decompressedDigest(formatGzip, r)
	case mediatype.OCILayerZstd:
		return decompressedDigest(formatZstd, r)
	}
	return "", fmt.Errorf("a layer of media type %q cannot be read", mt)
}
