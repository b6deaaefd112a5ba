package dockersave

import (
	"errors"
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

// diffIDHasher computes the diff ID of a compressed blob written to it,
// decompressing in its own goroutine. Writes never fail: a blob that does
// not decompress only leaves its diff ID unknown, which is an error only
// if the blob turns out to be one of the image's layers.
type diffIDHasher struct {
	pw     *io.PipeWriter
	failed bool
	done   chan diffResult
}

type diffResult struct {
	d   digest.Digest
	err error
}

var errDecompressorDone = errors.New("decompressor done")

func startDiffID(f format) *diffIDHasher {
	pr, pw := io.Pipe()
	h := &diffIDHasher{pw: pw, done: make(chan diffResult, 1)}
	go func() {
		d, err := decompressedDigest(f, pr)
		_ = pr.CloseWithError(errDecompressorDone)
		h.done <- diffResult{d, err}
	}()
	return h
}

func (h *diffIDHasher) Write(p []byte) (int, error) {
	if !h.failed {
		if _, err := h.pw.Write(p); err != nil {
			h.failed = true
		}
	}
	return len(p), nil
}

// finish ends the input and returns the diff ID, or why it is unknown.
func (h *diffIDHasher) finish() (digest.Digest, error) {
	_ = h.pw.Close()
	r := <-h.done
	return r.d, r.err
}

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
