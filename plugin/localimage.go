package plugin

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/client"
	"github.com/opencontainers/go-digest"
)

// daemonClient is what findLocalImage needs of the Docker daemon.
type daemonClient interface {
	ImageList(ctx context.Context, options client.ImageListOptions) (client.ImageListResult, error)
	ImageInspect(ctx context.Context, imageID string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	Info(ctx context.Context, options client.InfoOptions) (client.SystemInfoResult, error)
}

// daemonTimeout bounds each metadata call to the daemon: one that accepts
// connections but never answers must not hang the upload.
const daemonTimeout = 30 * time.Second

// localImage is the image found in the daemon.
type localImage struct {
	ID      string   // sha256:<64 hex>, the image ID
	DiffIDs []string // RootFS.Layers, in order
	Arch    string
	// ManifestID: the ID is the digest of the image's manifest or index,
	// as on the containerd image store, not of its config.
	ManifestID bool
	// RepoDigest is the digest --image named when it matched a RepoDigests
	// entry rather than the ID: the digest of a manifest some registry
	// holds.
	RepoDigest digest.Digest
}

// manifestDigest is the digest of a manifest that may already be in
// Canonical's registry for this image, known without an export: the ID
// on the containerd store, or the RepoDigest given; "" on the classic
// store, where the ID is the digest of the config and the remote manifest
// is computed.
func (img *localImage) manifestDigest() digest.Digest {
	switch {
	case img.ManifestID:
		return img.id()
	case img.RepoDigest != "":
		return img.RepoDigest
	}
	return ""
}

// errDaemonUnreachable marks a daemon that could not be reached.
var errDaemonUnreachable = errors.New("cannot reach the Docker daemon")

// findLocalImage resolves d against the daemon's images: a prefix of an
// image ID (short or full), or a full digest among the images' RepoDigests.
func findLocalImage(ctx context.Context, dc daemonClient, d imageDigest) (*localImage, error) {
	ctx, cancel := context.WithTimeout(ctx, daemonTimeout)
	defer cancel()
	list, err := dc.ImageList(ctx, client.ImageListOptions{All: true})
	if err != nil {
		return nil, daemonError(err)
	}
	ids := map[string][]string{} // image ID -> its names, for the ambiguity message
	byRepoDigest := false
	for _, img := range list.Items {
		match := strings.HasPrefix(img.ID, d.String())
		for _, rd := range img.RepoDigests {
			if _, dg, ok := strings.Cut(rd, "@"); ok && d.full && dg == d.String() && !match {
				match, byRepoDigest = true, true
			}
		}
		if match {
			ids[img.ID] = append(ids[img.ID], img.RepoTags...)
		}
	}
	switch len(ids) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, ambiguousError(d, ids)
	}
	var id string
	for k := range ids {
		id = k
	}
	insp, err := dc.ImageInspect(ctx, id)
	if err != nil {
		return nil, daemonError(err)
	}
	img := &localImage{ID: insp.ID, DiffIDs: insp.RootFS.Layers, Arch: insp.Architecture}
	if byRepoDigest {
		img.RepoDigest = digest.Digest(d.String())
	}
	if img.ManifestID, err = idIsManifest(ctx, dc, insp); err != nil {
		return nil, err
	}
	return img, nil
}

// idIsManifest tells whether the daemon's image IDs are manifest (or
// index) digests: the containerd image store's are, the classic store's
// are config digests. Newer daemons say so in the inspect (its
// Descriptor); Docker 26 only in its info.
func idIsManifest(ctx context.Context, dc daemonClient, insp client.ImageInspectResult) (bool, error) {
	if desc := insp.Descriptor; desc != nil {
		return desc.Digest.String() == insp.ID && desc.MediaType != "" && !strings.Contains(desc.MediaType, "config"), nil
	}
	info, err := dc.Info(ctx, client.InfoOptions{})
	if err != nil {
		return false, daemonError(err)
	}
	for _, kv := range info.Info.DriverStatus {
		if kv[0] == "driver-type" && kv[1] == "io.containerd.snapshotter.v1" {
			return true, nil
		}
	}
	return false, nil
}

func ambiguousError(d imageDigest, ids map[string][]string) error {
	lines := make([]string, 0, len(ids))
	for id, names := range ids {
		line := "  " + id
		if len(names) > 0 {
			line += " (" + strings.Join(names, ", ") + ")"
		}
		lines = append(lines, line)
	}
	sort.Strings(lines)
	return fmt.Errorf("--image %s matches %d local images; give more hex characters to choose one of:\n%s", d.hex, len(ids), strings.Join(lines, "\n"))
}

func daemonError(err error) error {
	if client.IsErrConnectionFailed(err) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", errDaemonUnreachable, err)
	}
	return fmt.Errorf("asking the Docker daemon about local images: %w", err)
}
