package manifest

import (
	"encoding/json"

	"github.com/canonical/docker-charmcraft/internal/mediatype"
	"github.com/opencontainers/go-digest"
)

// ociDoc is what Build reads of an OCI (or Docker) manifest or index.
type ociDoc struct {
	MediaType string       `json:"mediaType"`
	Config    Descriptor   `json:"config"`
	Layers    []Descriptor `json:"layers"`
	Manifests []Descriptor `json:"manifests"`
}

// ociManifest is an image manifest found in the stream's OCI layout.
type ociManifest struct {
	raw       []byte
	digest    digest.Digest
	mediaType string
	doc       ociDoc
}

// indexJSON returns the descriptors of the OCI layout's index.json.
func (s *session) indexJSON() []Descriptor {
	e := s.files["index.json"]
	if e == nil || e.kind != kindJSON {
		return nil
	}
	var doc ociDoc
	if json.Unmarshal(e.json, &doc) != nil {
		return nil
	}
	return doc.Manifests
}

// manifestsUnder returns the image manifests present in the stream that
// descs name, directly or through image indexes. Each blob is visited
// once, so a hostile index cannot make the walk long.
func (s *session) manifestsUnder(descs []Descriptor) []*ociManifest {
	var out []*ociManifest
	seen := make(map[digest.Digest]bool)
	var walk func(descs []Descriptor, depth int)
	walk = func(descs []Descriptor, depth int) {
		for _, d := range descs {
			if seen[d.Digest] {
				continue
			}
			seen[d.Digest] = true
			e := s.blobFile(d.Digest)
			var doc ociDoc
			if e == nil || e.kind != kindJSON || json.Unmarshal(e.json, &doc) != nil {
				continue
			}
			switch {
			case len(doc.Manifests) > 0 && depth < s.lim.nesting:
				walk(doc.Manifests, depth+1)
			case doc.Config.Digest != "":
				out = append(out, newOCIManifest(e.json, d, doc))
			}
		}
	}
	walk(descs, 0)
	return out
}

func newOCIManifest(raw []byte, d Descriptor, doc ociDoc) *ociManifest {
	mt := doc.MediaType
	if mt == "" {
		mt = d.MediaType
	}
	if mt == "" {
		mt = mediatype.OCIManifest
	}
	return &ociManifest{raw: raw, digest: digest.FromBytes(raw), mediaType: mt, doc: doc}
}

// blobsPresent tells whether the stream carried m's config and layers.
func (s *session) blobsPresent(m *ociManifest) bool {
	if e := s.blobFile(m.doc.Config.Digest); e == nil || e.kind != kindJSON {
		return false
	}
	for _, l := range m.doc.Layers {
		if e := s.blobFile(l.Digest); e == nil || e.blob == nil {
			return false
		}
	}
	return true
}

// compressedLayers tells whether all m's layers came compressed, and were
// pushed as they are: then m itself can be the remote manifest.
func (s *session) compressedLayers(m *ociManifest) bool {
	for _, l := range m.doc.Layers {
		if e := s.blobFile(l.Digest); e == nil || e.kind != kindCompressed {
			return false
		}
	}
	return s.blobsPresent(m)
}
