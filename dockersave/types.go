package dockersave

import (
	"context"
	"io"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Descriptor names a blob: its media type, digest and size. It is the OCI
// image-spec type, which the registry client returns too, so that it
// satisfies BlobStore without importing this package. The media types are
// in internal/mediatype.
type Descriptor = v1.Descriptor

// BlobStore is what Build needs of a registry; the registry package's
// *Client satisfies it. Build calls it from one goroutine at a time.
type BlobStore interface {
	// BlobExists tells whether the registry holds the blob.
	BlobExists(ctx context.Context, d digest.Digest) (bool, error)
	// PushBlob uploads size bytes read from r, whose digest is d.
	PushBlob(ctx context.Context, r io.Reader, size int64, d digest.Digest) error
	// PushBlobStream uploads r, whose digest and size are learnt while
	// streaming, and returns them. progress, if not nil, receives the
	// number of bytes sent so far.
	PushBlobStream(ctx context.Context, r io.Reader, progress func(int64)) (Descriptor, error)
}

// Layer is one layer of the remote manifest.
type Layer struct {
	// DiffID is the sha256 of the uncompressed layer tar.
	DiffID digest.Digest
	// Descriptor is the blob as the remote manifest references it.
	Descriptor
	// Pushed is false when the registry already had the blob.
	Pushed bool
}

// Result is what Build made: the remote manifest, ready for a PUT by
// digest, and what it references.
type Result struct {
	// MediaType is the manifest's media type, for the Content-Type header.
	MediaType string
	// Manifest is the manifest's exact bytes.
	Manifest []byte
	// Digest is the sha256 of Manifest.
	Digest digest.Digest
	// Config is the image config blob, unchanged from docker save.
	Config Descriptor
	// Layers are in the manifest's order; a layer used twice is listed
	// twice but was pushed once.
	Layers []Layer
	// BytesPushed counts the blob bytes uploaded, config included.
	BytesPushed int64
}
