package dockersave

import (
	"encoding/json"

	"github.com/canonical/docker-charmcraft/internal/mediatype"
	"github.com/opencontainers/go-digest"
)

// schema2 is a Docker schema 2 image manifest. Its fields are in the order
// docker push writes them; encoding/json keeps struct order, so the same
// content always gives the same bytes.
type schema2 struct {
	SchemaVersion int           `json:"schemaVersion"`
	MediaType     string        `json:"mediaType"`
	Config        schema2Blob   `json:"config"`
	Layers        []schema2Blob `json:"layers"`
}

type schema2Blob struct {
	MediaType string        `json:"mediaType"`
	Size      int64         `json:"size"`
	Digest    digest.Digest `json:"digest"`
}

// marshalSchema2 returns the manifest's compact JSON, with no trailing
// newline.
func marshalSchema2(config Descriptor, layers []Layer) []byte {
	m := schema2{
		SchemaVersion: 2,
		MediaType:     mediatype.DockerManifest,
		Config:        schema2Blob{MediaType: config.MediaType, Size: config.Size, Digest: config.Digest},
		Layers:        make([]schema2Blob, 0, len(layers)),
	}
	for _, l := range layers {
		m.Layers = append(m.Layers, schema2Blob{MediaType: l.MediaType, Size: l.Size, Digest: l.Digest})
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // strings and numbers only: cannot fail
	}
	return b
}
