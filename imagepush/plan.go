package imagepush

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/canonical/docker-charmcraft/internal/mediatype"
	"github.com/opencontainers/go-digest"
)

// ociDoc is what a plan reads of a manifest, an index or a config.
type ociDoc struct {
	MediaType string `json:"mediaType"`
	Config    struct {
		Digest digest.Digest `json:"digest"`
	} `json:"config"`
	Layers []struct {
		Digest digest.Digest `json:"digest"`
	} `json:"layers"`
	Manifests []indexEntry `json:"manifests"`
	// A config's:
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant"`
}

type indexEntry struct {
	MediaType   string            `json:"mediaType"`
	Digest      digest.Digest     `json:"digest"`
	Platform    *Platform         `json:"platform"`
	Annotations map[string]string `json:"annotations"`
}

// UnmarshalJSON reads an OCI platform object into a Platform.
func (p *Platform) UnmarshalJSON(b []byte) error {
	var v struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = Platform{OS: v.OS, Architecture: v.Architecture, Variant: v.Variant}
	return nil
}

// attestation tells whether the entry is an attestation manifest, as
// buildx writes them: about another entry, for no platform.
func (e indexEntry) attestation() bool {
	return e.Annotations["vnd.docker.reference.type"] == "attestation-manifest" || (e.Platform != nil && e.Platform.unknown())
}

// plan is what to push of a containerd-store image: blobs, then the
// manifests, in order (each after those it lists), the last one being the
// image's remote manifest.
type plan struct {
	blobs     []digest.Digest
	manifests []planned
	// platforms are those of the images pushed (attestations are none).
	platforms []Platform
}

type planned struct {
	digest    digest.Digest
	mediaType string
	raw       []byte
}

// top is the remote manifest: the last pushed.
func (pl *plan) top() planned { return pl.manifests[len(pl.manifests)-1] }

// planPush decides what to push of image id from what its export holds:
// the whole index, or the platforms wanted (none: all); a manifest alone
// as it is, if its platform is wanted. It refuses an index whose content
// is incomplete unless the platforms wanted are all present.
func planPush(c *savedContent, id digest.Digest, want []Platform) (*plan, error) {
	raw, ok := c.json[id]
	if !ok {
		return nil, fmt.Errorf("the export of image %s from the Docker daemon does not hold its manifest", id)
	}
	var doc ociDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("reading the manifest of image %s: %w", id, err)
	}
	if len(doc.Manifests) == 0 {
		pl := &plan{}
		p, err := pl.addImage(c, id, mediaType(doc.MediaType, mediatype.OCIManifest))
		if err != nil {
			return nil, err
		}
		if len(want) > 0 && !slices.ContainsFunc(want, p.Matches) {
			return nil, fmt.Errorf("--platform %s: image %s is for %s only", platformFlag(want), id, p)
		}
		pl.platforms = []Platform{p}
		return pl, nil
	}
	return planIndex(c, planned{digest: id, mediaType: mediaType(doc.MediaType, mediatype.OCIIndex), raw: raw}, doc.Manifests, want)
}

func mediaType(mt, dflt string) string {
	if mt == "" {
		return dflt
	}
	return mt
}

// addImage adds the image manifest d, its config and layers, to the plan,
// if the export holds them all, and returns its platform (from the config).
func (pl *plan) addImage(c *savedContent, d digest.Digest, mt string) (Platform, error) {
	raw, ok := c.json[d]
	if !ok {
		return Platform{}, errMissing
	}
	var m ociDoc
	if err := json.Unmarshal(raw, &m); err != nil {
		return Platform{}, fmt.Errorf("reading manifest %s: %w", d, err)
	}
	cfgRaw, ok := c.json[m.Config.Digest]
	if !ok {
		return Platform{}, errMissing
	}
	blobs := []digest.Digest{m.Config.Digest}
	for _, l := range m.Layers {
		if !c.has(l.Digest) {
			return Platform{}, errMissing
		}
		blobs = append(blobs, l.Digest)
	}
	var cfg ociDoc
	_ = json.Unmarshal(cfgRaw, &cfg) // an attestation's config says unknown/unknown
	for _, b := range blobs {
		if !slices.Contains(pl.blobs, b) {
			pl.blobs = append(pl.blobs, b)
		}
	}
	pl.manifests = append(pl.manifests, planned{digest: d, mediaType: mediaType(m.MediaType, mt), raw: raw})
	return Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}, nil
}

// errMissing is content the export lacks: the daemon never had it.
var errMissing = fmt.Errorf("missing")
