package dockersave

import (
	"bytes"
	"context"
	"fmt"

	"github.com/canonical/docker-charmcraft/internal/mediatype"
	"github.com/opencontainers/go-digest"
)

// finish checks what the stream held, once it is all read, pushes the
// config and returns the remote manifest.
func (s *session) finish(ctx context.Context) (*Result, error) {
	img, err := s.selectImage()
	if err != nil {
		return nil, err
	}
	if err := s.checkInspect(img); err != nil {
		return nil, err
	}
	res, err := s.schema2Result(img)
	if err != nil {
		return nil, err
	}
	if err := s.pushConfig(ctx, img); err != nil {
		return nil, err
	}
	res.BytesPushed = s.bytesPushed
	return res, nil
}

// checkLayer checks that the layer blob b is the image's layer i.
func checkLayer(img *image, i int, b *blob) error {
	if b.diffID != img.diffIDs[i] {
		return errorf(ErrDiffIDMismatch, "%s: diff ID %s does not match the image config's %s", layerN(i, len(img.diffIDs)), b.diffID, img.diffIDs[i])
	}
	return nil
}

// schema2Result builds a Docker schema 2 manifest from manifest.json.
func (s *session) schema2Result(img *image) (*Result, error) {
	paths, n := img.item.Layers, len(img.diffIDs)
	if len(paths) != n {
		return nil, errorf(ErrDiffIDMismatch, "manifest.json lists %d layers, but the image config has %d diff IDs", len(paths), n)
	}
	cfg := Descriptor{MediaType: mediatype.DockerConfig, Digest: img.configDigest, Size: int64(len(img.config))}
	res := &Result{MediaType: mediatype.DockerManifest, Config: cfg}
	for i, p := range paths {
		e, err := s.lookup(p, layerN(i, n))
		if err != nil {
			return nil, err
		}
		if e.blob == nil {
			return nil, errorf(ErrInvalidArchive, "%s: %q is not a layer tar", layerN(i, n), p)
		}
		if err := checkLayer(img, i, e.blob); err != nil {
			return nil, err
		}
		res.Layers = append(res.Layers, Layer{DiffID: e.blob.diffID, Descriptor: e.blob.desc, Pushed: e.blob.pushed})
	}
	res.Manifest = marshalSchema2(res.Config, res.Layers)
	res.Digest = digest.FromBytes(res.Manifest)
	return res, nil
}

// pushConfig uploads the image config, unchanged, unless the registry
// has it.
func (s *session) pushConfig(ctx context.Context, img *image) error {
	d := img.configDigest
	exists, err := s.store.BlobExists(ctx, d)
	if err == nil && !exists {
		err = s.store.PushBlob(ctx, bytes.NewReader(img.config), int64(len(img.config)), d)
	}
	if err != nil {
		return &pushError{what: fmt.Sprintf("image config %s", d), err: err}
	}
	if !exists {
		s.bytesPushed += int64(len(img.config))
	}
	return nil
}
