// Package mediatype holds the media types of the manifests, configs and
// layers the plugin reads, builds and pushes, declared once for the
// manifest and registry packages and their users.
package mediatype

import v1 "github.com/opencontainers/image-spec/specs-go/v1"

// Docker image manifest v2, schema 2, and its parts.
const (
	// DockerManifest is the Docker schema 2 image manifest, which the
	// manifest package builds.
	DockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	// DockerManifestList is the Docker schema 2 manifest list: an index.
	DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	// DockerConfig is the image config a Docker manifest references.
	DockerConfig = "application/vnd.docker.container.image.v1+json"
	// DockerLayer is a gzip-compressed layer tar in a Docker manifest.
	DockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip"
)

// OCI image-spec types.
const (
	// OCIManifest is the OCI image manifest, and the type assumed for an
	// image's own manifest whose JSON does not say its type.
	OCIManifest = v1.MediaTypeImageManifest
	// OCIIndex is the OCI image index.
	OCIIndex = v1.MediaTypeImageIndex
	// OCILayerGzip is a gzip-compressed OCI layer tar.
	OCILayerGzip = v1.MediaTypeImageLayerGzip
	// OCILayerZstd is a zstd-compressed OCI layer tar.
	OCILayerZstd = v1.MediaTypeImageLayerZstd
)

// Manifests is every manifest and index type, in the order a registry is
// asked for them.
var Manifests = []string{DockerManifest, DockerManifestList, OCIManifest, OCIIndex}
