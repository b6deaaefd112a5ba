package imagepush

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/canonical/docker-charmcraft/dockersave"
	"github.com/canonical/docker-charmcraft/internal/mediatype"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/opencontainers/go-digest"
)

// recordPrefix starts the tag of every record. A bare "sha256-<hex>" is
// not used: the OCI distribution spec gives that form to the referrers
// index of manifest <hex> (its tag schema fallback), which cosign and
// oras read and write, and a record keyed by a config digest is no such
// thing.
const recordPrefix = "charmcraft-image-"

// RecordTag is the tag of the record of a classic-store image, id being
// its image ID (the digest of its config): charmcraft-image-sha256-<hex>,
// 88 characters. The tag names the image's remote manifest in the charm's
// repository, so that any machine with the charm's upload credentials
// finds it in one request, without exporting the image. The record is
// only a shortcut: deleting it costs one export, the next push writes it
// again.
func RecordTag(id digest.Digest) string {
	return recordPrefix + id.Algorithm().String() + "-" + id.Encoded()
}

// recorded is a record read, and checked to name the image.
type recorded struct {
	digest digest.Digest // of the manifest it names
	m      *recordManifest
}

// recordManifest is what a record's manifest is read for.
type recordManifest struct {
	MediaType string                  `json:"mediaType"`
	Config    dockersave.Descriptor   `json:"config"`
	Layers    []dockersave.Descriptor `json:"layers"`
}

// readRecord reads the record of img, a classic-store image, and returns
// the manifest it names if that manifest is img's: its config digest is
// the image ID, and its layers are the image's layers, in order (see
// verifyLayers). Otherwise, a record absent, unreadable or naming another
// image, nil: the manifest is computed, and the caller is told why as a
// RecordIgnored event.
//
// The record is trusted no further than that check: anyone with the
// charm's upload credentials can point it anywhere in the repository.
func (p *pusher) readRecord(ctx context.Context, img *LocalImage) *recorded {
	tag := RecordTag(img.ID)
	mt, body, err := p.reg.GetManifest(ctx, tag)
	var m *recordManifest
	if err != nil {
		err = recordError(err)
	} else {
		m, err = checkRecord(mt, body, img)
	}
	if err == nil {
		err = p.verifyLayers(ctx, img, m)
	}
	if err != nil {
		p.emit(Event{Kind: RecordIgnored, Tag: tag, Err: err})
		return nil
	}
	return &recorded{digest: digest.FromBytes(body), m: m}
}

// errNoRecord is a record the registry does not hold.
var errNoRecord = errors.New("no record")

// checkRecord checks that a manifest of media type mt, read as img's
// record, is img's remote manifest.
func checkRecord(mt string, body []byte, img *LocalImage) (*recordManifest, error) {
	var m recordManifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("the record is not a manifest: %w", err)
	}
	switch {
	case mt != mediatype.DockerManifest && mt != mediatype.OCIManifest:
		return nil, fmt.Errorf("the record is a %q, not an image manifest", mt)
	case m.Config.Digest != img.ID:
		return nil, fmt.Errorf("the record names the manifest of another image (config %.80s)", m.Config.Digest)
	case len(m.Layers) != len(img.DiffIDs):
		return nil, fmt.Errorf("the record names a manifest of %d layers, the image has %d", len(m.Layers), len(img.DiffIDs))
	}
	return &m, nil
}

// verifyLayers checks that each layer of m, a record's manifest, holds
// the layer of img at its place: its blob decompresses to the diff ID that
// img's config names there. A layer that this machine's cache maps to the
// same blob is not read again (the cache's owner wrote that entry after
// compressing or reading the layer); the others are downloaded, once.
func (p *pusher) verifyLayers(ctx context.Context, img *LocalImage, m *recordManifest) error {
	for i, l := range m.Layers {
		want := img.DiffIDs[i]
		if c := p.opts.cache; c != nil {
			if d, ok := c.Get(want, p.opts.compressor.ID()); ok && d.Digest == l.Digest {
				continue
			}
		}
		got, err := p.layerDiffID(ctx, l)
		if err != nil {
			return fmt.Errorf("reading layer %d of the manifest it names, %s: %w", i+1, l.Digest, err)
		}
		if got != want {
			return fmt.Errorf("the manifest it names has as layer %d a blob (%s) that is not the image's layer %d: its diff ID is %s, not %s", i+1, l.Digest, i+1, got, want)
		}
	}
	return nil
}

// layerDiffID downloads the layer l and returns its diff ID; the registry
// client checks the blob's digest.
func (p *pusher) layerDiffID(ctx context.Context, l dockersave.Descriptor) (digest.Digest, error) {
	if l.Digest.Validate() != nil {
		return "", fmt.Errorf("invalid layer digest %.80q", l.Digest)
	}
	rc, err := p.reg.GetBlob(ctx, l.Digest)
	if err != nil {
		return "", err
	}
	defer func() { _ = rc.Close() }()
	d, err := dockersave.LayerDiffID(l.MediaType, rc)
	if err != nil {
		return "", err
	}
	// What follows the compressed stream, if anything, is part of the
	// blob: reading to the end checks the blob's digest.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return "", err
	}
	return d, nil
}

// learn fills the cache from a record used, as if this machine had pushed
// the image: the blob each layer is in the registry as, and the config's
// size. A later image sharing layers with this one (one layer changed)
// then sends only what changed, instead of compressing and streaming
// every layer to learn their digests. Only a manifest of the kind the
// dockersave package builds (Docker schema 2, gzip layers) is learnt from.
// Its blobs may come from another compressor than this plugin's: each is
// a gzip of the layer, whose diff ID the image's config names; the
// registry checked their digests.
func (p *pusher) learn(j *job, rec *recorded) {
	c, m := p.opts.cache, rec.m
	if c == nil || m.MediaType != mediatype.DockerManifest || m.Config.MediaType != mediatype.DockerConfig {
		return
	}
	for _, l := range m.Layers {
		if l.MediaType != mediatype.DockerLayer || l.Digest.Validate() != nil || l.Size <= 0 {
			return
		}
	}
	for i, l := range m.Layers {
		c.Put(j.img.DiffIDs[i], p.opts.compressor.ID(), l)
	}
	c.PutConfigSize(j.img.ID, m.Config.Size)
}

// writeRecord makes the record of j's image name res, its remote
// manifest in the registry, unless it does already (j.record, as read
// before). A registry that refuses the tag costs only the next push's
// time: the caller is told as a RecordNotSaved event, and the push
// stands.
func (p *pusher) writeRecord(ctx context.Context, j *job, res *dockersave.Result) {
	if res == nil || (j.record != nil && j.record.digest == res.Digest) {
		return
	}
	tag := RecordTag(j.img.ID)
	if _, err := p.reg.TagManifest(ctx, tag, res.MediaType, res.Manifest); err != nil {
		p.emit(Event{Kind: RecordNotSaved, Tag: tag, Digest: res.Digest, Err: err})
		return
	}
	p.emit(Event{Kind: RecordSaved, Tag: tag, Digest: res.Digest})
}

// recordError says why the record could not be read: it is not there,
// or the registry's answer.
func recordError(err error) error {
	if errors.Is(err, registry.ErrNotFound) {
		return errNoRecord
	}
	return fmt.Errorf("reading the record: %w", err)
}
