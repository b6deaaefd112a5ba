package imagepush

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
	"github.com/opencontainers/go-digest"
)

// Daemon is what Push needs of the Docker daemon: the moby client, or a
// test's stand-in.
type Daemon interface {
	ImageList(ctx context.Context, options client.ImageListOptions) (client.ImageListResult, error)
	ImageInspect(ctx context.Context, imageID string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImageSave(ctx context.Context, imageIDs []string, opts ...client.ImageSaveOption) (client.ImageSaveResult, error)
	Info(ctx context.Context, options client.InfoOptions) (client.SystemInfoResult, error)
}

// daemonTimeout bounds each metadata call to the daemon: one that accepts
// connections but never answers must not hang the upload.
const daemonTimeout = 30 * time.Second

// LocalImage is an image found in the daemon.
type LocalImage struct {
	// ID is the image ID, sha256:<64 hex>: a config digest with the classic
	// image store, a manifest or index digest with the containerd store.
	ID digest.Digest
	// DiffIDs are its RootFS.Layers, in order.
	DiffIDs []digest.Digest
	// Arch is the architecture image inspect reports (of one platform,
	// for a multi-platform image), with its OS and Variant.
	Arch, OS, Variant string
	// Tags are the image's names (RepoTags), and Digests their digest
	// forms (RepoDigests), as inspect listed them.
	Tags, Digests []string
	// Size is the image's size, as inspect reports it.
	Size int64
	// ManifestID: the ID is the digest of the image's manifest or index,
	// as on the containerd image store, not of its config.
	ManifestID bool
	// RepoDigest is the digest the Ref named when it matched a RepoDigests
	// entry rather than the ID: the digest of a manifest some registry
	// holds.
	RepoDigest digest.Digest
}

// ManifestDigest is the digest of a manifest that may already be in the
// registry for this image, known without an export: the ID on the
// containerd store, or the RepoDigest named; "" on the classic store,
// where the ID is the digest of the config and the remote manifest is
// computed.
func (img *LocalImage) ManifestDigest() digest.Digest {
	switch {
	case img.ManifestID:
		return img.ID
	case img.RepoDigest != "":
		return img.RepoDigest
	}
	return ""
}

// FindLocal resolves ref against the daemon's images: a prefix of an image
// ID (short or full), or a full digest among the images' RepoDigests. It
// returns nil, nil when no image matches, an *AmbiguousError when several
// do, and an error matching ErrDaemonUnreachable when the daemon cannot be
// reached.
func FindLocal(ctx context.Context, d Daemon, ref Ref) (*LocalImage, error) {
	ctx, cancel := context.WithTimeout(ctx, daemonTimeout)
	defer cancel()
	// What the store is, asked meanwhile: Docker 26 tells it only in its
	// info, which takes a while on the containerd store.
	info := make(chan infoResult, 1)
	go func() {
		r, err := d.Info(ctx, client.InfoOptions{})
		info <- infoResult{r, err}
	}()
	// A full image ID needs no listing (nor can it be ambiguous), nor does
	// a prefix the daemon resolves to one image: it refuses a prefix of
	// several. The ID found must start with what was given: a prefix that
	// reads as another image's name finds that image, and is looked up in
	// the list instead. Each listing takes 0.2 s or more on the containerd
	// store, which sums the size of every image.
	if insp, err := d.ImageInspect(ctx, ref.String()); err == nil && strings.HasPrefix(insp.ID, ref.String()) {
		return localImage(insp, info)
	}
	// A prefix of 12 hex digits or more names one image of the top-level
	// ones and the intermediate ones both but by a chance of 2^-48: the
	// intermediate ones are listed only when no top-level one matches.
	list, err := listImages(ctx, d, func(img image.Summary) bool { m, _ := matchRef(img, ref); return m })
	if err != nil {
		return nil, daemonError(err)
	}
	ids := map[string][]string{} // image ID -> its names, for the ambiguity message
	byRepoDigest := false
	for _, img := range list.Items {
		if match, byDigest := matchRef(img, ref); match {
			ids[img.ID] = append(ids[img.ID], img.RepoTags...)
			byRepoDigest = byRepoDigest || byDigest
		}
	}
	switch len(ids) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, &AmbiguousError{Ref: ref, Images: ids}
	}
	var id string
	for k := range ids {
		id = k
	}
	insp, err := d.ImageInspect(ctx, id)
	if err != nil {
		return nil, daemonError(err)
	}
	img, err := localImage(insp, info)
	if img != nil && byRepoDigest {
		img.RepoDigest = digest.Digest(ref.String())
	}
	return img, err
}

// matchRef says whether img is what ref names: an image whose ID starts
// with it, or, for a full digest, one that has it among its RepoDigests
// (byRepoDigest).
func matchRef(img image.Summary, ref Ref) (match, byRepoDigest bool) {
	if strings.HasPrefix(img.ID, ref.String()) {
		return true, false
	}
	for _, rd := range img.RepoDigests {
		if _, dg, ok := strings.Cut(rd, "@"); ok && ref.Full && dg == ref.String() {
			return true, true
		}
	}
	return false, false
}

// listImages lists the daemon's images until one of them is wanted: first
// the top-level ones (docker images), then, if none is, all of them,
// intermediate images included (docker images -a). The containerd store
// lists all of them slowly: 7 to 10 s here with the intermediate images of
// a classic build, against under a second for the top-level ones.
func listImages(ctx context.Context, d Daemon, wanted func(image.Summary) bool) (client.ImageListResult, error) {
	list, err := listOnce(ctx, d, false)
	if err != nil || slices.ContainsFunc(list.Items, wanted) {
		return list, err
	}
	return listOnce(ctx, d, true)
}

// listOnce asks the daemon for a list of images. The containerd store
// answers NotFound when an image goes while it lists (a docker rmi, a
// prune, another upload's temporary name removed): the list is asked for
// again, twice at most.
func listOnce(ctx context.Context, d Daemon, all bool) (client.ImageListResult, error) {
	for attempt := 1; ; attempt++ {
		list, err := d.ImageList(ctx, client.ImageListOptions{All: all})
		if err == nil || attempt == 3 || !cerrdefs.IsNotFound(err) || ctx.Err() != nil {
			return list, err
		}
	}
}

type infoResult struct {
	r   client.SystemInfoResult
	err error
}

// localImage is the image insp describes; info is the daemon's info,
// coming.
func localImage(insp client.ImageInspectResult, info <-chan infoResult) (*LocalImage, error) {
	img := &LocalImage{ID: digest.Digest(insp.ID), Arch: insp.Architecture, OS: insp.Os, Variant: insp.Variant, Tags: insp.RepoTags, Digests: insp.RepoDigests, Size: insp.Size}
	for _, l := range insp.RootFS.Layers {
		img.DiffIDs = append(img.DiffIDs, digest.Digest(l))
	}
	var err error
	if img.ManifestID, err = idIsManifest(insp, info); err != nil {
		return nil, err
	}
	return img, nil
}

// idIsManifest tells whether the daemon's image IDs are manifest (or
// index) digests: the containerd image store's are, the classic store's
// are config digests. Newer daemons say so in the inspect (its
// Descriptor); Docker 26 only in its info.
func idIsManifest(insp client.ImageInspectResult, info <-chan infoResult) (bool, error) {
	if desc := insp.Descriptor; desc != nil {
		return desc.Digest.String() == insp.ID && desc.MediaType != "" && !strings.Contains(desc.MediaType, "config"), nil
	}
	res := <-info
	if res.err != nil {
		return false, daemonError(res.err)
	}
	for _, kv := range res.r.Info.DriverStatus {
		if kv[0] == "driver-type" && kv[1] == "io.containerd.snapshotter.v1" {
			return true, nil
		}
	}
	return false, nil
}

// AmbiguousError is a prefix that matches several local images.
type AmbiguousError struct {
	Ref Ref
	// Images are the image IDs matched, each with its names (tags).
	Images map[string][]string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("image ID prefix %s matches %d local images:\n%s", e.Ref.Hex, len(e.Images), e.List())
}

// List is the images matched, one a line, sorted: "  <ID> (<names>)".
func (e *AmbiguousError) List() string {
	lines := make([]string, 0, len(e.Images))
	for id, names := range e.Images {
		line := "  " + id
		if len(names) > 0 {
			line += " (" + strings.Join(names, ", ") + ")"
		}
		lines = append(lines, line)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// ErrDaemonUnreachable means the Docker daemon could not be reached.
var ErrDaemonUnreachable = errors.New("cannot reach the Docker daemon")

// daemonError classifies an error of the daemon: unreachable, or another.
func daemonError(err error) error {
	if client.IsErrConnectionFailed(err) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrDaemonUnreachable, err)
	}
	return fmt.Errorf("asking the Docker daemon about local images: %w", err)
}
