package dockersave

import (
	"archive/tar"
	"fmt"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/mediatype"
	"github.com/opencontainers/go-digest"
)

// legacyFixture is the layout of Docker 24 and older, with three layers
// (incompressible, text, empty) whose directories sort in another order
// than the layers.
func legacyFixture(t testing.TB) fixture {
	layers := [][]byte{randomLayer(t), textLayer(t), emptyLayer(t)}
	fx, files := legacyWith(layers, digests(layers))
	fx.save = tarOf(t, files)
	return fx
}

// legacyGzipFixture is the legacy layout with gzip-compressed layer.tar
// files, as some tools other than docker save write it: Build refuses it.
func legacyGzipFixture(t testing.TB) fixture {
	layers := [][]byte{randomLayer(t), textLayer(t), emptyLayer(t)}
	fx, files := legacyWith([][]byte{gzipped(t, layers[0]), gzipped(t, layers[1]), gzipped(t, layers[2])}, digests(layers))
	fx.save = tarOf(t, files)
	return fx
}

// legacyWith returns the entries of a legacy save of layers, whose config
// gives diffIDs.
func legacyWith(layers [][]byte, diffIDs []digest.Digest) (fixture, []file) {
	cfg := configFor(diffIDs)
	id := digest.FromBytes(cfg)
	var files []file
	var paths []string
	for i, l := range layers {
		v1 := "cab"[i:i+1] + digest.FromString(fmt.Sprint("v1 ", i)).Encoded()[1:]
		files = append(files,
			file{name: v1 + "/", typ: tar.TypeDir},
			file{name: v1 + "/VERSION", body: []byte("1.0")},
			file{name: v1 + "/json", body: []byte(`{"id":"` + v1 + `"}`)},
			file{name: v1 + "/layer.tar", body: l})
		paths = append(paths, v1+"/layer.tar")
	}
	files = append(files,
		file{name: id.Encoded() + ".json", body: cfg},
		file{name: "manifest.json", body: mustJSON([]saveItem{{Config: id.Encoded() + ".json", RepoTags: []string{"test:latest"}, Layers: paths}})},
		file{name: "repositories", body: []byte(`{"test":{"latest":"x"}}`)})
	return fixture{config: cfg, imageID: id, diffIDs: diffIDs, blobs: len(layers)}, sorted(files)
}

// docker25Fixture is the layout of Docker 25+ with the classic store: an
// OCI layout of uncompressed layers. Layer 2 is reached through a symlink
// that comes before its target, layer 4 through a hard link, and layer 3
// repeats layer 1.
func docker25Fixture(t testing.TB) fixture {
	return docker25With(t, textLayer(t), randomLayer(t), emptyLayer(t))
}

func docker25With(t testing.TB, text, random, empty []byte) fixture {
	layers := [][]byte{text, random, text, empty}
	diffIDs := digests(layers)
	cfg := configFor(diffIDs)
	id := digest.FromBytes(cfg)
	var descs []Descriptor
	for i, l := range layers {
		descs = append(descs, Descriptor{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: diffIDs[i], Size: int64(len(l))})
	}
	m := mustJSON(map[string]any{"schemaVersion": 2, "mediaType": mediatype.OCIManifest,
		"config": Descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: id, Size: int64(len(cfg))}, "layers": descs})
	index := mustJSON(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []Descriptor{{MediaType: mediatype.OCIManifest, Digest: digest.FromBytes(m), Size: int64(len(m))}}})
	v1json := []byte(`{"id":"legacy","created":"1970-01-01T00:00:00Z"}`)
	files := []file{
		{name: blobPath(diffIDs[0]), body: layers[0]},
		{name: blobPath(diffIDs[1]), body: layers[1]},
		{name: blobPath(diffIDs[3]), body: layers[3]},
		{name: blobPath(id), body: cfg},
		{name: blobPath(digest.FromBytes(m)), body: m},
		{name: blobPath(digest.FromBytes(v1json)), body: v1json},
		{name: "0legacy/layer.tar", typ: tar.TypeSymlink, link: "../" + blobPath(diffIDs[1])},
		{name: "layers/empty.tar", typ: tar.TypeLink, link: blobPath(diffIDs[3])},
		{name: "index.json", body: index},
		{name: "oci-layout", body: []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{name: "manifest.json", body: mustJSON([]saveItem{{Config: blobPath(id), RepoTags: []string{"test:latest"},
			Layers: []string{blobPath(diffIDs[0]), "0legacy/layer.tar", blobPath(diffIDs[0]), "layers/empty.tar"}}})},
	}
	return fixture{save: tarOf(t, sorted(files)), config: cfg, imageID: id, diffIDs: diffIDs, blobs: 3}
}
