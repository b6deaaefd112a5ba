package dockersave

import (
	"encoding/json"
	"path"
	"strings"

	"github.com/opencontainers/go-digest"
)

// saveItem is one image in docker save's manifest.json.
type saveItem struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// image is the image of the stream that Build settled on.
type image struct {
	item         saveItem
	config       []byte
	configDigest digest.Digest
	diffIDs      []digest.Digest
}

func (s *session) readManifestJSON() ([]saveItem, error) {
	if s.files["manifest.json"] == nil {
		return nil, errorf(ErrInvalidArchive, "no manifest.json at the root of the stream: not a docker save archive, or cut short")
	}
	e, err := s.lookupJSON("manifest.json", "manifest")
	if err != nil {
		return nil, err
	}
	var items []saveItem
	if err := json.Unmarshal(e.json, &items); err != nil {
		return nil, errorf(ErrInvalidArchive, "parsing manifest.json: %w", err)
	}
	if len(items) == 0 {
		return nil, errorf(ErrInvalidArchive, "manifest.json lists no image")
	}
	return items, nil
}

// configOf returns the bytes and digest of an item's config.
func (s *session) configOf(it saveItem) ([]byte, digest.Digest, error) {
	e, err := s.lookupJSON(it.Config, "image config")
	if err != nil {
		return nil, "", err
	}
	d := digest.FromBytes(e.json)
	// The legacy layout names the config <image-id-hex>.json.
	if hex, ok := strings.CutSuffix(path.Base(it.Config), ".json"); ok {
		if named := digest.NewDigestFromEncoded(digest.SHA256, hex); named.Validate() == nil && named != d {
			return nil, "", errorf(ErrDigestMismatch, "image config %q hashes to %s, not to its name", it.Config, d)
		}
	}
	return e.json, d, nil
}

// load reads an item's config and its diff IDs.
func (s *session) load(it saveItem) (*image, error) {
	cfg, d, err := s.configOf(it)
	if err != nil {
		return nil, err
	}
	var c struct {
		RootFS struct {
			DiffIDs []digest.Digest `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(cfg, &c); err != nil {
		return nil, errorf(ErrInvalidArchive, "parsing image config %q: %w", it.Config, err)
	}
	if n := len(c.RootFS.DiffIDs); n > s.lim.layers || len(it.Layers) > s.lim.layers {
		return nil, errorf(ErrLimit, "image %s has more than %d layers", d, s.lim.layers)
	}
	for i, id := range c.RootFS.DiffIDs {
		if err := id.Validate(); err != nil {
			return nil, errorf(ErrInvalidArchive, "image config %q: diff ID %d %q: %w", it.Config, i+1, id, err)
		}
	}
	return &image{item: it, config: cfg, configDigest: d, diffIDs: c.RootFS.DiffIDs}, nil
}
