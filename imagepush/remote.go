package imagepush

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/canonical/docker-charmcraft/registry"
	"github.com/opencontainers/go-digest"
)

// maxConfigSize caps the image config read from the registry.
const maxConfigSize = 4 << 20

// RemoteArchs reads the architectures (Go's names) of the manifest d in
// the registry: its config's, or for an index, those of its platforms.
func RemoteArchs(ctx context.Context, reg *registry.Client, d digest.Digest) ([]string, error) {
	_, body, err := reg.GetManifest(ctx, d.String())
	if err != nil {
		return nil, err
	}
	var m struct {
		Config struct {
			Digest digest.Digest `json:"digest"`
		} `json:"config"`
		Manifests []struct {
			Platform struct {
				Architecture string `json:"architecture"`
			} `json:"platform"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", d, err)
	}
	if len(m.Manifests) > 0 {
		var archs []string
		for _, e := range m.Manifests {
			archs = append(archs, e.Platform.Architecture)
		}
		return archs, nil
	}
	arch, err := configArch(ctx, reg, d, m.Config.Digest)
	if err != nil {
		return nil, err
	}
	return []string{arch}, nil
}

// configArch reads the architecture of image d's config, cfg.
func configArch(ctx context.Context, reg *registry.Client, d, cfg digest.Digest) (string, error) {
	blob, err := reg.GetBlob(ctx, cfg)
	if err != nil {
		return "", err
	}
	defer func() { _ = blob.Close() }()
	// Read to the end, so that the registry client checks the digest.
	raw, err := io.ReadAll(io.LimitReader(blob, maxConfigSize+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("reading the config of image %s: %w", d, err)
	case len(raw) > maxConfigSize:
		return "", fmt.Errorf("the config of image %s is over %d bytes", d, maxConfigSize)
	}
	var c struct {
		Architecture string `json:"architecture"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return "", fmt.Errorf("reading the config of image %s: %w", d, err)
	}
	return c.Architecture, nil
}
