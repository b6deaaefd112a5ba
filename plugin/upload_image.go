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
func resolveImage(ctx context.Context, env *cliEnv, reg *registry.Client, out *resultWriter, want imageDigest, charm string) (digest.Digest, *localImage, error) {
	if want.full {
		if ok, err := reuseRemote(ctx, reg, out, digest.Digest(want.String())); ok || err != nil {
			return digest.Digest(want.String()), nil, err
		}
	}
	dc := env.dockerCli.Client()
	img, err := findLocalImage(ctx, dc, want)
	switch {
	case errors.Is(err, errDaemonUnreachable) && want.full:
		return "", nil, fmt.Errorf("image %s is not in Canonical's registry for charm '%s', and the local Docker daemon cannot be reached to take it from there (%w); start Docker, or give the digest of an image already in the registry", want, charm, err)
	case errors.Is(err, errDaemonUnreachable):
		return "", nil, fmt.Errorf("a short digest must be looked up in the local Docker daemon, which cannot be reached (%w); start Docker, or give the full sha256 digest of an image already in Canonical's registry", err)
	case err != nil:
		return "", nil, err
	case img == nil && want.full:
		return "", nil, fmt.Errorf("image %s was found neither in Canonical's registry for charm '%s' nor in the local Docker daemon; check the digest with `docker images --digests --no-trunc`", want, charm)
	case img == nil:
		return "", nil, fmt.Errorf("no local image ID starts with %s; check it with `docker images`, or give the full sha256 digest of an image already in Canonical's registry", want.hex)
	}
	if !want.full {
		if ok, err := reuseRemote(ctx, reg, out, img.id()); ok || err != nil {
			return img.id(), nil, err
		}
	}
	// The seed's phrase, word for word, though the image comes from the
	// local Docker daemon, not a registry.
	out.info("Remote image not found, uploading from local registry")
	remote, err := pushLocalImage(ctx, env, reg, out, img)
	return remote, img, err
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
