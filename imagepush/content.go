package imagepush

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/opencontainers/go-digest"
)

// maxJSONBlob caps a JSON blob of a save stream kept in memory: manifests,
// indexes, configs and attestation statements are far smaller.
const maxJSONBlob = 4 << 20

// savedContent is what the docker save stream of a containerd-store image
// holds: its blobs, as the daemon stores them. The JSON ones (manifests,
// indexes, configs, attestations) are kept; the others (layers) are only
// seen, and handed to a pushBlob as they stream by.
type savedContent struct {
	json  map[digest.Digest][]byte
	sizes map[digest.Digest]int64 // every blob present
}

// pushBlob sends, or skips, the size bytes of r, the blob d.
type pushBlob func(ctx context.Context, d digest.Digest, size int64, r io.Reader) error

// readSaved reads a save stream, giving each blob that is not JSON to
// push (nil: skip them). Blobs are checked against their digests: the
// registry checks those it is sent, readSaved those it keeps.
func readSaved(ctx context.Context, save io.Reader, push pushBlob) (*savedContent, error) {
	c := &savedContent{json: map[digest.Digest][]byte{}, sizes: map[digest.Digest]int64{}}
	tr := tar.NewReader(save)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return c, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the docker save stream: %w", err)
		}
		hex, ok := strings.CutPrefix(hdr.Name, "blobs/sha256/")
		if !ok || hdr.Typeflag != tar.TypeReg {
			continue
		}
		d := digest.NewDigestFromEncoded(digest.SHA256, hex)
		if d.Validate() != nil {
			return nil, fmt.Errorf("the docker save stream holds a blob named %q, which is no sha256 digest", hdr.Name)
		}
		c.sizes[d] = hdr.Size
		br := bufio.NewReaderSize(tr, 512)
		if first, _ := br.Peek(1); len(first) == 1 && first[0] == '{' && hdr.Size <= maxJSONBlob {
			raw, err := io.ReadAll(br)
			if err != nil {
				return nil, fmt.Errorf("reading blob %s of the docker save stream: %w", d, err)
			}
			if digest.FromBytes(raw) != d {
				return nil, fmt.Errorf("blob %s of the docker save stream does not match its digest", d)
			}
			c.json[d] = raw
			continue
		}
		if push != nil {
			if err := push(ctx, d, hdr.Size, br); err != nil {
				return nil, err
			}
		}
	}
}

// has tells whether the stream held blob d.
func (c *savedContent) has(d digest.Digest) bool {
	_, ok := c.sizes[d]
	return ok
}
