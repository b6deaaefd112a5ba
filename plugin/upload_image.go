package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/manifest"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/opencontainers/go-digest"
)

// uploadImage makes sure the image is in Canonical's registry under the
// charm's path and uploads the blob that names it; it returns the upload
// ID for the new revision, and the bases of the image's architectures.
func uploadImage(ctx context.Context, env *cliEnv, ch *charmhub.Client, out *resultWriter, opts uploadResourceOptions) (string, []charmhub.Base, error) {
	want, err := parseImageDigest(opts.image)
	if err != nil {
		return "", nil, err
	}
	creds, err := ch.UploadCredentials(ctx, opts.charm, opts.resource)
	if err != nil {
		return "", nil, err
	}
	reg, err := env.registry(repositoryPath(creds.ImageName), creds.Username, creds.Password)
	if err != nil {
		return "", nil, err
	}
	remote, pushed, err := resolveImage(ctx, env, reg, out, want, opts.charm)
	if err != nil {
		return "", nil, err
	}
	out.imageDigest = remote
	var bases []charmhub.Base
	if pushed != nil && pushed.Arch != "" {
		bases = basesFor(imageArchs(out.err, []string{pushed.Arch})) // inspect told it
	} else {
		bases = imageBases(ctx, reg, out, remote)
	}
	blob, err := ch.ImageBlob(ctx, opts.charm, opts.resource, remote.String())
	if err != nil {
		return "", nil, err
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(blob)), nil }
	id, err := ch.Upload(ctx, "oci-image.json", int64(len(blob)), open, nil)
	return id, bases, err
}

// repositoryPath is the registry path in an image name: the name without
// its host (registry.jujucharms.com/charm/<id>/<resource> ->
// charm/<id>/<resource>). The host comes from the registry base URL.
func repositoryPath(imageName string) string {
	if host, path, ok := strings.Cut(imageName, "/"); ok && (strings.ContainsAny(host, ".:") || host == "localhost") {
		return path
	}
	return imageName
}

// resolveImage finds the remote digest for the wanted image: reused from
// the registry when it is there already, else pushed from the daemon, in
// which case it also returns the local image.
//
// The daemon is asked first what the digest is, so that the registry is
// never asked for a manifest by the digest of an image config (a classic
// store's image ID): distribution 2 answers that with a 500, not a 404.
// Only a digest the daemon cannot tell about is looked up in the registry
// as it is.
func resolveImage(ctx context.Context, env *cliEnv, reg *registry.Client, out *resultWriter, want imageDigest, charm string) (digest.Digest, *localImage, error) {
	img, err := findLocalImage(ctx, env.dockerCli.Client(), want)
	if err != nil && !errors.Is(err, errDaemonUnreachable) {
		return "", nil, err
	}
	if img == nil {
		return resolveRemoteOnly(ctx, reg, out, want, charm, err)
	}
	p := newImagePush(env, reg, out, img)
	if d := img.manifestDigest(); d != "" {
		if ok, err := reuseRemote(ctx, reg, out, d); ok || err != nil {
			return d, nil, err
		}
	} else if d, ok, err := p.knownRemote(ctx); ok || err != nil {
		if ok {
			out.info("Using the OCI image from Canonical's registry")
		}
		return d, nil, err
	}
	// The seed's words, although the image comes from the Docker daemon.
	out.info("Remote image not found, uploading from local registry")
	remote, err := pushLocalImage(ctx, p)
	return remote, img, err
}

// resolveRemoteOnly looks a digest the daemon does not know (or could not
// be asked about: daemonErr) up in the registry, as a manifest digest.
func resolveRemoteOnly(ctx context.Context, reg *registry.Client, out *resultWriter, want imageDigest, charm string, daemonErr error) (digest.Digest, *localImage, error) {
	if want.full {
		d := digest.Digest(want.String())
		ok, err := reuseRemote(ctx, reg, out, d)
		if ok || err != nil {
			return d, nil, notAManifestError(ctx, reg, d, err)
		}
	}
	switch {
	case daemonErr != nil && want.full:
		return "", nil, fmt.Errorf("image %s is not in Canonical's registry for charm '%s', and the local Docker daemon cannot be reached to take it from there (%w); start Docker, or give the digest of an image already in the registry", want, charm, daemonErr)
	case daemonErr != nil:
		return "", nil, fmt.Errorf("a short digest must be looked up in the local Docker daemon, which cannot be reached (%w); start Docker, or give the full sha256 digest of an image already in Canonical's registry", daemonErr)
	case want.full:
		return "", nil, fmt.Errorf("image %s was found neither in Canonical's registry for charm '%s' nor in the local Docker daemon; check the digest with `docker images --digests --no-trunc`", want, charm)
	}
	return "", nil, fmt.Errorf("no local image ID starts with %s; check it with `docker images`, or give the full sha256 digest of an image already in Canonical's registry", want.hex)
}

// notAManifestError explains a server error to a manifest check by a
// digest that the registry holds as a blob: distribution 2 answers 500
// when it finds a config or a layer there, not a manifest.
func notAManifestError(ctx context.Context, reg *registry.Client, d digest.Digest, err error) error {
	var rerr *registry.Error
	if err == nil || !errors.As(err, &rerr) || rerr.StatusCode < 500 {
		return err
	}
	if blob, berr := reg.BlobExists(ctx, d); berr != nil || !blob {
		return err
	}
	return fmt.Errorf("%s is the digest of an image's config or of a layer in Canonical's registry, not of an image manifest (the registry answered %d when asked for it as a manifest); give the local image ID with the Docker daemon that holds the image running, or the image's remote digest (the one `Image uploaded, new remote digest:` showed)", d, rerr.StatusCode)
}

// reuseRemote tells whether the registry holds the manifest d, and says
// it will be used.
func reuseRemote(ctx context.Context, reg *registry.Client, out *resultWriter, d digest.Digest) (bool, error) {
	ok, err := reg.ManifestExists(ctx, d)
	if ok {
		out.info("Using the OCI image from Canonical's registry")
	}
	return ok, registryError(d, err)
}

// blobStore adapts the registry client to what manifest.Build needs.
type blobStore struct{ *registry.Client }

func (b blobStore) PushBlobStream(ctx context.Context, r io.Reader, progress func(int64)) (manifest.Descriptor, error) {
	d, err := b.Client.PushBlobStream(ctx, r, progress)
	return manifest.Descriptor{Digest: d.Digest, Size: d.Size}, err
}
