package imagepush

import (
	"context"
	"errors"
	"fmt"

	"github.com/canonical/docker-charmcraft/dockersave"
	"github.com/canonical/docker-charmcraft/internal/mediatype"
	"github.com/opencontainers/go-digest"
)

// job is the push of one local image, as the strategies see it.
type job struct {
	img *LocalImage
	src Source // its docker save
	// cached is the remote manifest as the layer cache knows it, if it
	// knows every layer; nil otherwise.
	cached *dockersave.Result
	// absent is a manifest digest the registry was just found to lack.
	absent digest.Digest
	// record is the registry's record of the image, once read and found
	// to name it; nil otherwise.
	record *recorded
	// pushed is the remote manifest, once the push is settled.
	pushed *dockersave.Result
}

func (p *pusher) newJob(img *LocalImage) *job {
	return &job{img: img, src: DaemonSource(p.daemon, img.ID, img.Size, p.opts.stall), cached: p.cachedManifest(img)}
}

// A strategy tries to settle a push: res is the remote manifest when it
// did, nil when it does not apply and the next one must try. Its errors
// end the push.
type strategy func(ctx context.Context, j *job) (res *dockersave.Result, err error)

// pushLocal makes sure the registry holds the remote manifest of the
// local image, by the first strategy that settles it, cheapest first.
func (p *pusher) pushLocal(ctx context.Context, j *job) (*dockersave.Result, error) {
	for _, s := range []strategy{p.fromCache, p.dryRun, p.upload} {
		if res, err := s(ctx, j); res != nil || err != nil {
			return res, err
		}
	}
	return nil, errors.New("no way found to push the image") // upload always settles it
}

// cachedManifest is the remote manifest as the cache knows it, if it
// knows every layer and the config's size; else nil.
func (p *pusher) cachedManifest(img *LocalImage) *dockersave.Result {
	c := p.opts.cache
	if c == nil {
		return nil
	}
	size, ok := c.ConfigSize(img.ID)
	if !ok {
		return nil
	}
	cfg := dockersave.Descriptor{MediaType: mediatype.DockerConfig, Digest: img.ID, Size: size}
	res, ok := dockersave.FromCache(c, p.opts.compressor.ID(), cfg, img.DiffIDs)
	if !ok {
		return nil
	}
	return res
}

// fromCache settles the push of a manifest known from the cache, with no
// docker save, if the registry has every blob it names: the manifest is
// there already, or is pushed. It does not apply if the cache does not
// know the manifest or the registry lacks a blob.
func (p *pusher) fromCache(ctx context.Context, j *job) (*dockersave.Result, error) {
	res := j.cached
	if res == nil {
		return nil, nil
	}
	if res.Digest != j.absent {
		exists, err := p.reg.ManifestExists(ctx, res.Digest)
		if err != nil {
			return nil, registryError(res.Digest, err)
		}
		if exists {
			p.emit(Event{Kind: AlreadyPushed, Digest: res.Digest})
			return res, nil
		}
	}
	blobs := []digest.Digest{res.Config.Digest}
	for _, l := range res.Layers {
		blobs = append(blobs, l.Digest)
	}
	for _, d := range blobs {
		if exists, err := p.reg.BlobExists(ctx, d); err != nil || !exists {
			return nil, registryError(d, err)
		}
	}
	return res, p.pushManifest(ctx, res) // its absence was just checked
}

// dryRun settles the push of an image whose config the registry holds,
// pushed before from a machine whose cache this one lacks: one docker
// save computes the remote manifest, sending nothing, and fills the
// cache; settled if the registry has that manifest. It does not apply
// without a cache (the upload that follows would do the same work again)
// nor when the cache knew the manifest (it would only compute it again).
func (p *pusher) dryRun(ctx context.Context, j *job) (*dockersave.Result, error) {
	if p.opts.cache == nil || j.cached != nil {
		return nil, nil
	}
	img := j.img
	exists, err := p.reg.BlobExists(ctx, img.ID)
	if err != nil || !exists {
		return nil, registryError(img.ID, err)
	}
	res, err := p.build(ctx, j, dryStore{p.reg}, false)
	if errors.Is(err, dockersave.ErrStaleCache) {
		return nil, p.forgetFingerprints() // the upload reads it again, without them
	}
	if err != nil {
		return nil, err
	}
	if exists, err = p.reg.ManifestExists(ctx, res.Digest); err != nil || !exists {
		return nil, registryError(res.Digest, err)
	}
	p.emit(Event{Kind: AlreadyPushed, Digest: res.Digest})
	return res, nil
}

// upload settles any push: docker save, compressing and pushing what the
// registry lacks (see pushBuild), then the manifest unless the registry
// has it already. A stale cache fingerprint costs one more export.
func (p *pusher) upload(ctx context.Context, j *job) (*dockersave.Result, error) {
	res, err := p.pushBuild(ctx, j)
	if errors.Is(err, dockersave.ErrStaleCache) {
		if err := p.forgetFingerprints(); err != nil {
			return nil, err
		}
		res, err = p.pushBuild(ctx, j)
	}
	if err != nil {
		return nil, err
	}
	return res, p.publish(ctx, res)
}

func (p *pusher) forgetFingerprints() error {
	if err := p.opts.cache.ForgetFingerprints(); err != nil {
		return fmt.Errorf("clearing the layer cache in %s: %w", p.opts.cache.Dir(), err)
	}
	return nil
}

// publish pushes the manifest, unless the registry has it already.
func (p *pusher) publish(ctx context.Context, res *dockersave.Result) error {
	exists, err := p.reg.ManifestExists(ctx, res.Digest)
	if err != nil {
		return registryError(res.Digest, err)
	}
	if exists {
		p.emit(Event{Kind: AlreadyPushed, Digest: res.Digest})
		return nil
	}
	return p.pushManifest(ctx, res)
}

// pushManifest pushes the manifest and checks the digest it is stored as.
func (p *pusher) pushManifest(ctx context.Context, res *dockersave.Result) error {
	got, err := p.reg.PushManifest(ctx, res.MediaType, res.Manifest)
	if err != nil {
		return fmt.Errorf("pushing the image manifest to Canonical's registry: %w", err)
	}
	if got != res.Digest {
		return fmt.Errorf("Canonical's registry stored the manifest as %s, but its digest is %s", got, res.Digest)
	}
	p.emit(Event{Kind: Uploaded, Digest: res.Digest})
	return nil
}
