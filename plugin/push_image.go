package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/canonical/docker-charmcraft/layercache"
	"github.com/canonical/docker-charmcraft/manifest"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/opencontainers/go-digest"
)

// pushLocalImage makes sure the registry holds the remote manifest of the
// local image and returns its digest, doing as little work as it can:
//
//  1. every layer in the cache: the manifest comes from the cache and the
//     image inspect already made, with no docker save at all;
//  2. the registry holds the image's config (pushed before from a machine
//     whose cache this one lacks): one docker save computes the digests
//     without sending anything; if the manifest is there, that is all;
//  3. otherwise docker save, compressing and pushing what the registry
//     lacks, skipping the layers the cache and the registry both know.
func pushLocalImage(ctx context.Context, p *imagePush) (digest.Digest, error) {
	reg, out, img := p.reg, p.out, p.img
	if res, ok := p.fromCache(); ok {
		if done, err := p.completeFromCache(ctx, res); done || err != nil {
			return res.Digest, err
		}
	} else if exists, err := reg.BlobExists(ctx, img.id()); err == nil && exists && p.cache != nil {
		res, err := p.build(ctx, dryStore{reg}, false)
		if err == nil {
			if exists, err := reg.ManifestExists(ctx, res.Digest); err == nil && exists {
				out.info("Image already in Canonical's registry, remote digest: %s", res.Digest)
				return res.Digest, nil
			}
		}
	}
	res, err := p.pushBuild(ctx)
	if errors.Is(err, manifest.ErrStaleCache) {
		if ferr := p.cache.ForgetFingerprints(); ferr != nil {
			return "", fmt.Errorf("clearing the layer cache in %s: %w", p.cache.Dir(), ferr)
		}
		res, err = p.pushBuild(ctx)
	}
	if err != nil {
		return "", err
	}
	return res.Digest, p.publish(ctx, res)
}

// imagePush is one push of a local image.
type imagePush struct {
	env   *cliEnv
	reg   *registry.Client
	out   *resultWriter
	img   *localImage
	cache *layercache.Cache // nil: none
	comp  manifest.Compressor
	// absent is a manifest digest the registry was just found to lack.
	absent digest.Digest
}

func newImagePush(env *cliEnv, reg *registry.Client, out *resultWriter, img *localImage) *imagePush {
	return &imagePush{env: env, reg: reg, out: out, img: img, cache: env.layerCache(), comp: manifest.DefaultCompressor()}
}

// knownRemote is the remote manifest of the image as this machine's cache
// knows it, without an export, and whether the registry holds it.
func (p *imagePush) knownRemote(ctx context.Context) (digest.Digest, bool, error) {
	res, ok := p.fromCache()
	if !ok {
		return "", false, nil
	}
	exists, err := p.reg.ManifestExists(ctx, res.Digest)
	if err != nil {
		return "", false, registryError(res.Digest, err)
	}
	if !exists {
		p.absent = res.Digest
	}
	return res.Digest, exists, nil
}

// fromCache is the remote manifest as the cache knows it, if it knows
// every layer and the config's size.
func (p *imagePush) fromCache() (*manifest.Result, bool) {
	if p.cache == nil {
		return nil, false
	}
	size, ok := p.cache.ConfigSize(p.img.id())
	if !ok {
		return nil, false
	}
	cfg := manifest.Descriptor{MediaType: manifest.MediaTypeDockerConfig, Digest: p.img.id(), Size: size}
	return manifest.FromCache(p.cache, p.comp.ID(), cfg, p.img.diffIDs())
}

// completeFromCache finishes the push of a manifest known from the cache
// if the registry has every blob it names; false if it lacks one.
func (p *imagePush) completeFromCache(ctx context.Context, res *manifest.Result) (bool, error) {
	if res.Digest != p.absent {
		if exists, err := p.reg.ManifestExists(ctx, res.Digest); err != nil || exists {
			if exists {
				p.out.info("Image already in Canonical's registry, remote digest: %s", res.Digest)
			}
			return exists, registryError(res.Digest, err)
		}
	}
	blobs := []digest.Digest{res.Config.Digest}
	for _, l := range res.Layers {
		blobs = append(blobs, l.Digest)
	}
	for _, d := range blobs {
		if exists, err := p.reg.BlobExists(ctx, d); err != nil || !exists {
			return false, registryError(d, err)
		}
	}
	return true, p.pushManifest(ctx, res) // its absence was just checked
}

// build reads the image out of the daemon and runs manifest.Build on it.
func (p *imagePush) build(ctx context.Context, store manifest.BlobStore, progress bool) (*manifest.Result, error) {
	save, err := p.env.dockerCli.Client().ImageSave(ctx, []string{p.img.ID})
	if err != nil {
		return nil, daemonError(err)
	}
	defer func() { _ = save.Close() }()
	opts := []manifest.Option{manifest.WithImage(p.img.id(), p.img.diffIDs()), manifest.WithCompressor(p.comp)}
	if p.cache != nil {
		opts = append(opts, manifest.WithCache(p.cache))
	}
	if progress {
		opts = append(opts, manifest.WithProgress(p.env.layerProgress()))
	}
	res, err := manifest.Build(ctx, save, store, opts...)
	if err != nil {
		return nil, fmt.Errorf("exporting image %s from the Docker daemon: %w", p.img.ID, err)
	}
	if p.cache != nil && res.Config.Digest == p.img.id() {
		p.cache.PutConfigSize(p.img.id(), res.Config.Size)
	}
	return res, nil
}

// publish pushes the manifest, unless the registry has it already.
func (p *imagePush) publish(ctx context.Context, res *manifest.Result) error {
	exists, err := p.reg.ManifestExists(ctx, res.Digest)
	if err != nil {
		return registryError(res.Digest, err)
	}
	if exists {
		p.out.info("Image already in Canonical's registry, remote digest: %s", res.Digest)
		return nil
	}
	return p.pushManifest(ctx, res)
}

// pushManifest pushes the manifest and checks the digest it is stored as.
func (p *imagePush) pushManifest(ctx context.Context, res *manifest.Result) error {
	got, err := p.reg.PushManifest(ctx, res.MediaType, res.Manifest)
	if err != nil {
		return fmt.Errorf("pushing the image manifest to Canonical's registry: %w", err)
	}
	if got != res.Digest {
		return fmt.Errorf("Canonical's registry stored the manifest as %s, but its digest is %s", got, res.Digest)
	}
	p.out.info("Image uploaded, new remote digest: %s", res.Digest)
	return nil
}

func registryError(d digest.Digest, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("asking Canonical's registry for %s: %w", d, err)
}

// layerCache opens the cache in CHARMCRAFT_CACHE_DIR, else in the user's
// cache directory; nil if it cannot, which only makes pushes slower.
func (e *cliEnv) layerCache() *layercache.Cache {
	dir := e.getenv(cacheDirEnv)
	if dir == "" {
		var err error
		if dir, err = layercache.DefaultDir(); err != nil {
			e.debugf("no layer cache: %v", err)
			return nil
		}
	}
	c, err := layercache.Open(dir)
	if err != nil {
		e.debugf("no layer cache: %v", err)
		return nil
	}
	c.Err = func(err error) { e.debugf("layer cache: %v", err) }
	return c
}

func (e *cliEnv) debugf(format string, a ...any) {
	if w := e.debugLog(); w != nil {
		_, _ = fmt.Fprintf(w, format+"\n", a...)
	}
}

func (img *localImage) id() digest.Digest { return digest.Digest(img.ID) }

func (img *localImage) diffIDs() []digest.Digest {
	ids := make([]digest.Digest, len(img.DiffIDs))
	for i, d := range img.DiffIDs {
		ids[i] = digest.Digest(d)
	}
	return ids
}

// dryStore computes what a push would send without sending it: the
// registry is asked what it has, and everything else is hashed and
// dropped.
type dryStore struct{ reg *registry.Client }

func (s dryStore) BlobExists(ctx context.Context, d digest.Digest) (bool, error) {
	return s.reg.BlobExists(ctx, d)
}

func (dryStore) PushBlob(_ context.Context, r io.Reader, size int64, d digest.Digest) error {
	v := d.Verifier()
	n, err := io.Copy(v, r)
	switch {
	case err != nil:
		return err
	case n != size || !v.Verified():
		return fmt.Errorf("blob does not match %s (%d bytes)", d, size)
	}
	return nil
}

func (dryStore) PushBlobStream(_ context.Context, r io.Reader, _ func(int64)) (manifest.Descriptor, error) {
	dg := digest.Canonical.Digester()
	n, err := io.Copy(dg.Hash(), r)
	return manifest.Descriptor{Digest: dg.Digest(), Size: n}, err
}
