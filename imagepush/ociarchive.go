package imagepush

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/canonical/docker-charmcraft/dockersave"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"
)

// Archive is an OCI image on disk: an OCI archive, the tar of an OCI
// layout that rockcraft packs as a .rock, or an OCI layout directory.
type Archive struct {
	// Path is the tar file, or the directory.
	Path string
	// Layout is true for a directory, false for a tar.
	Layout bool
}

func (a Archive) String() string {
	if a.Layout {
		return fmt.Sprintf("OCI layout %q", a.Path)
	}
	return fmt.Sprintf("OCI archive %q", a.Path)
}

// archiveUploads is how many blobs of an archive are sent at once: each
// streams from the file, so that what they hold in memory is a few
// buffers, whatever their size.
const archiveUploads = 4

// LegacyArchiveError is a `docker save` tar of the classic store's own
// format (manifest.json, no index.json), which holds uncompressed layers
// and no manifest to keep: it is refused, with what to do instead.
type LegacyArchiveError struct{ Path string }

func (e *LegacyArchiveError) Error() string {
	return fmt.Sprintf("%q is a `docker save` archive in Docker's own format (manifest.json, no index.json), not an OCI archive: load it with `docker load -i %s` and pass the image ID it prints to --image, or save the image with Docker 25 or later, whose archives are OCI archives", e.Path, shellWord(e.Path))
}

// shellWord is p as a shell reads it back: quoted when it must be.
func shellWord(p string) string {
	if p != "" && !strings.ContainsFunc(p, func(r rune) bool { return !strings.ContainsRune(safeShellRunes, r) }) {
		return p
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}

const safeShellRunes = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,/:@+=%"

// PushArchive makes sure reg holds the image of an OCI archive or layout,
// with the digests it has there: its manifest (or index) and every blob
// are pushed as they are stored. An archive that holds several images
// needs WithPlatforms to choose one; with an index, WithPlatforms pushes
// only the platforms chosen, as for a containerd-store image. The blobs
// the registry has are not sent, nor read; every other blob is checked
// against its digest and size before any is sent, so that a damaged
// archive sends nothing. No Docker daemon is asked. With WithCache, the
// upload of a blob a killed run left is resumed (the cache's other
// entries are for images of the daemon).
func PushArchive(ctx context.Context, reg *registry.Client, a Archive, opts ...Option) (*Result, error) {
	p := newPusher(nil, reg, opts)
	src, err := openArchive(a)
	if err != nil {
		return nil, err
	}
	defer func() { _ = src.close() }()
	c, err := src.content(ctx)
	if err != nil {
		return nil, err
	}
	pl, err := src.plan(c, p.opts.platforms)
	if err != nil {
		return nil, err
	}
	top := pl.top().digest
	if ok, err := p.reuseRemote(ctx, top); err != nil || ok {
		if err != nil {
			return nil, err
		}
		return &Result{Digest: top, Platforms: pl.platforms}, nil
	}
	held, err := p.heldBlobs(ctx, pl.blobs)
	if err != nil {
		return nil, err
	}
	if err := src.verify(ctx, c, pl, held); err != nil {
		return nil, err
	}
	p.emit(Event{Kind: Uploading})
	if err := p.sendArchiveBlobs(ctx, src, c, pl, held); err != nil {
		return nil, err
	}
	return p.pushPlanned(ctx, &job{}, pl)
}

// ociSource is an opened archive or layout: where each blob lies, and
// its index.json.
type ociSource struct {
	a     Archive
	file  *os.File                // the tar; nil for a layout
	blobs map[digest.Digest]int64 // the offset of each blob's content in the tar
	sizes map[digest.Digest]int64
	index []byte
}

// openArchive finds the blobs of a, reading only the tar's headers.
func openArchive(a Archive) (*ociSource, error) {
	s := &ociSource{a: a, blobs: map[digest.Digest]int64{}, sizes: map[digest.Digest]int64{}}
	var err error
	if a.Layout {
		err = s.openLayout()
	} else {
		err = s.openTar()
	}
	if err != nil {
		_ = s.close()
		return nil, err
	}
	return s, nil
}

func (s *ociSource) close() error {
	if s.file == nil {
		return nil
	}
	return s.file.Close()
}

// openTar reads the tar's headers, skipping the contents: a tar.Reader
// seeks past them in a file, and reads no further than the header, so
// that the file's offset after each is where the entry's content starts.
func (s *ociSource) openTar() error {
	f, err := os.Open(s.a.Path)
	if err != nil {
		return err
	}
	s.file = f
	tr := tar.NewReader(f)
	var layout, legacy bool
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w; an OCI archive is a tar, as `rockcraft pack` writes it", s.a, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		name := strings.TrimPrefix(path.Clean(hdr.Name), "/")
		switch name {
		case "oci-layout":
			layout = true
			continue
		case "manifest.json":
			legacy = true
			continue
		case "index.json":
			if hdr.Size > maxJSONBlob {
				return fmt.Errorf("the index.json of %s is over %d bytes", s.a, maxJSONBlob)
			}
			if s.index, err = io.ReadAll(tr); err != nil {
				return fmt.Errorf("reading %s: %w", s.a, err)
			}
			continue
		}
		d, ok := blobPath(name)
		if !ok {
			continue
		}
		off, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			return fmt.Errorf("reading %s: %w", s.a, err)
		}
		s.blobs[d], s.sizes[d] = off, hdr.Size
	}
	return s.checkLayout(layout, legacy)
}

// openLayout lists the layout's blobs.
func (s *ociSource) openLayout() error {
	index, err := os.ReadFile(filepath.Join(s.a.Path, "index.json"))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("reading %s: %w", s.a, err)
	default:
		s.index = index
	}
	_, lerr := os.Stat(filepath.Join(s.a.Path, "oci-layout"))
	_, merr := os.Stat(filepath.Join(s.a.Path, "manifest.json"))
	entries, err := os.ReadDir(filepath.Join(s.a.Path, "blobs", "sha256"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", s.a, err)
	}
	for _, e := range entries {
		d, ok := blobPath("blobs/sha256/" + e.Name())
		if !ok {
			continue
		}
		// Stat, not the entry's own type: a blob may be a link to a file.
		info, err := os.Stat(filepath.Join(s.a.Path, "blobs", "sha256", e.Name()))
		if err != nil {
			return fmt.Errorf("reading %s: %w", s.a, err)
		}
		if info.Mode().IsRegular() {
			s.sizes[d] = info.Size()
		}
	}
	return s.checkLayout(lerr == nil, merr == nil)
}

// checkLayout refuses what is not an OCI layout, saying what it is.
func (s *ociSource) checkLayout(layout, legacy bool) error {
	switch {
	case s.index == nil && legacy:
		return &LegacyArchiveError{Path: s.a.Path}
	case s.index == nil || !layout:
		what := "a tar"
		if s.a.Layout {
			what = "a directory"
		}
		return fmt.Errorf("%q is %s without an OCI layout's oci-layout and index.json files: --image takes an OCI archive (a .rock, as `rockcraft pack` writes it), an OCI layout directory, or an image ID", s.a.Path, what)
	}
	return nil
}

// blobPath is the digest of a blob by its path in the layout.
func blobPath(name string) (digest.Digest, bool) {
	hex, ok := strings.CutPrefix(name, "blobs/sha256/")
	if !ok {
		return "", false
	}
	d := digest.NewDigestFromEncoded(digest.SHA256, hex)
	return d, d.Validate() == nil
}

// open opens blob d, which the source holds.
func (s *ociSource) open(d digest.Digest) (io.ReadSeekCloser, error) {
	if s.file != nil {
		return nopSeekCloser{io.NewSectionReader(s.file, s.blobs[d], s.sizes[d])}, nil
	}
	f, err := os.Open(filepath.Join(s.a.Path, "blobs", "sha256", d.Encoded()))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.a, err)
	}
	return f, nil
}

type nopSeekCloser struct{ io.ReadSeeker }

func (nopSeekCloser) Close() error { return nil }

// content reads the JSON blobs (manifests, indexes, configs), checking
// each against its digest; the others are only sized.
func (s *ociSource) content(ctx context.Context) (*savedContent, error) {
	c := &savedContent{json: map[digest.Digest][]byte{}, sizes: s.sizes}
	for d, size := range s.sizes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if size > maxJSONBlob {
			continue
		}
		raw, err := s.readJSON(d)
		if err != nil {
			return nil, err
		}
		if raw != nil {
			c.json[d] = raw
		}
	}
	return c, nil
}

// readJSON reads blob d whole if it is JSON; nil if it is not.
func (s *ociSource) readJSON(d digest.Digest) ([]byte, error) {
	r, err := s.open(d)
	if err != nil {
		return nil, err
	}
	defer func() { _ = r.Close() }()
	br := bufio.NewReaderSize(r, 512)
	if first, _ := br.Peek(1); len(first) == 0 || first[0] != '{' {
		return nil, nil
	}
	raw, err := io.ReadAll(br)
	if err != nil {
		return nil, fmt.Errorf("reading blob %s of %s: %w", d, s.a, err)
	}
	if got := digest.FromBytes(raw); got != d {
		return nil, s.damaged(d, fmt.Sprintf("its content hashes to %s", got))
	}
	return raw, nil
}

func (s *ociSource) damaged(d digest.Digest, why string) error {
	return fmt.Errorf("blob %s of %s does not match its digest (%s): the archive is damaged, and nothing was uploaded; pack or copy it again", d, s.a, why)
}

// archived is an image that index.json lists, with its platforms.
type archived struct {
	entry     indexEntry
	platforms []Platform
}

func (i archived) String() string {
	s := shortDigest(i.entry.Digest)
	if name := i.entry.Annotations["org.opencontainers.image.ref.name"]; name != "" {
		s += " (" + name + ")"
	}
	return s + " for " + platformList(i.platforms)
}

func shortDigest(d digest.Digest) string { return d.Encoded()[:min(12, len(d.Encoded()))] }

// plan chooses the image that index.json lists (the one, or the one the
// platforms wanted match), and plans its push.
func (s *ociSource) plan(c *savedContent, want []Platform) (*plan, error) {
	var idx ociDoc
	if err := json.Unmarshal(s.index, &idx); err != nil {
		return nil, fmt.Errorf("reading the index.json of %s: %w", s.a, err)
	}
	var images []archived
	for _, e := range idx.Manifests {
		if e.attestation() || slices.ContainsFunc(images, func(i archived) bool { return i.entry.Digest == e.Digest }) {
			continue
		}
		if _, ok := c.json[e.Digest]; !ok {
			return nil, fmt.Errorf("%s lists image %s, but does not hold its manifest", s.a, e.Digest)
		}
		images = append(images, archived{entry: e, platforms: s.platformsOf(c, e)})
	}
	switch {
	case len(images) == 0:
		return nil, fmt.Errorf("%s holds no image: its index.json lists none", s.a)
	case len(images) > 1:
		var chosen []archived
		for _, img := range images {
			if slices.ContainsFunc(img.platforms, func(p Platform) bool { return slices.ContainsFunc(want, p.Matches) }) {
				chosen = append(chosen, img)
			}
		}
		if len(chosen) != 1 {
			return nil, s.severalError(images, chosen, want)
		}
		images = chosen
	}
	pl, err := planPush(c, images[0].entry.Digest, want)
	if inc, ok := errors.AsType[*IncompleteError](err); ok {
		return nil, fmt.Errorf("%s holds image %s for %s, but only the content of %s: upload those with --platform=%s", s.a, inc.ID, platformList(append(slices.Clone(inc.Present), inc.Missing...)), platformList(inc.Present), platformFlag(inc.Present))
	}
	return pl, err
}

// platformsOf is the platforms of an image that index.json lists: its
// entry's, else its config's, else those of the images of its index.
func (s *ociSource) platformsOf(c *savedContent, e indexEntry) []Platform {
	if e.Platform != nil {
		return []Platform{*e.Platform}
	}
	var doc ociDoc
	_ = json.Unmarshal(c.json[e.Digest], &doc)
	if len(doc.Manifests) == 0 {
		var cfg ociDoc
		_ = json.Unmarshal(c.json[doc.Config.Digest], &cfg)
		return []Platform{{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}}
	}
	var ps []Platform
	for _, m := range doc.Manifests {
		if !m.attestation() && m.Platform != nil {
			ps = append(ps, *m.Platform)
		}
	}
	return ps
}

// severalError refuses an archive of several images that the platforms
// wanted do not narrow to one, saying what it holds.
func (s *ociSource) severalError(images, chosen []archived, want []Platform) error {
	list := func(imgs []archived) string {
		names := make([]string, len(imgs))
		for i, img := range imgs {
			names[i] = img.String()
		}
		return strings.Join(names, "; ")
	}
	switch {
	case len(want) == 0:
		example := "linux/amd64"
		if ps := images[0].platforms; len(ps) > 0 {
			example = ps[0].String()
		}
		return fmt.Errorf("%s holds %d images: %s; choose one with --platform, e.g. --platform=%s", s.a, len(images), list(images), example)
	case len(chosen) == 0:
		return fmt.Errorf("--platform %s: %s holds no image for it; it holds %s", platformFlag(want), s.a, list(images))
	}
	return fmt.Errorf("--platform %s matches %d of the images %s holds: %s; an image revision is one image, so choose a platform that matches one", platformFlag(want), len(chosen), s.a, list(chosen))
}

// heldBlobs asks the registry, a few at once, which of blobs it has.
func (p *pusher) heldBlobs(ctx context.Context, blobs []digest.Digest) (map[digest.Digest]bool, error) {
	held := make([]bool, len(blobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(archiveUploads)
	for i, d := range blobs {
		g.Go(func() error {
			ok, err := p.reg.BlobExists(gctx, d)
			held[i] = ok
			return registryError(d, err)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	m := map[digest.Digest]bool{}
	for i, d := range blobs {
		m[d] = held[i]
	}
	return m, nil
}

// verify checks every blob the plan pushes against the sizes its
// manifests give, and the content of those to send that were not read
// yet against their digests, before anything is sent.
func (s *ociSource) verify(ctx context.Context, c *savedContent, pl *plan, held map[digest.Digest]bool) error {
	want := map[digest.Digest]int64{}
	for _, m := range pl.manifests {
		var doc struct {
			Config struct {
				Digest digest.Digest `json:"digest"`
				Size   int64         `json:"size"`
			} `json:"config"`
			Layers []struct {
				Digest digest.Digest `json:"digest"`
				Size   int64         `json:"size"`
			} `json:"layers"`
		}
		if err := json.Unmarshal(m.raw, &doc); err != nil {
			return fmt.Errorf("reading manifest %s of %s: %w", m.digest, s.a, err)
		}
		if doc.Config.Digest != "" {
			want[doc.Config.Digest] = doc.Config.Size
		}
		for _, l := range doc.Layers {
			want[l.Digest] = l.Size
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, d := range pl.blobs {
		if size, ok := want[d]; ok && size != c.sizes[d] {
			return s.damaged(d, fmt.Sprintf("it is %d bytes, and its manifest says %d", c.sizes[d], size))
		}
		if _, ok := c.json[d]; ok || held[d] {
			continue // checked when read, or not sent
		}
		g.Go(func() error { return s.check(ctx, d) })
	}
	return g.Wait()
}

// check hashes blob d.
func (s *ociSource) check(ctx context.Context, d digest.Digest) error {
	r, err := s.open(d)
	if err != nil {
		return err
	}
	defer func() { _ = r.Close() }()
	h := d.Algorithm().Digester()
	if _, err := copyContext(ctx, h.Hash(), r); err != nil {
		return fmt.Errorf("reading blob %s of %s: %w", d, s.a, err)
	}
	if got := h.Digest(); got != d {
		return s.damaged(d, fmt.Sprintf("its content hashes to %s", got))
	}
	return nil
}

// copyContext copies r to w until r ends or ctx is done.
func copyContext(ctx context.Context, w io.Writer, r io.Reader) (int64, error) {
	buf := make([]byte, 256<<10)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		k, err := r.Read(buf)
		if k > 0 {
			if _, werr := w.Write(buf[:k]); werr != nil {
				return n, werr
			}
			n += int64(k)
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// sendArchiveBlobs pushes the plan's blobs that the registry lacks, a
// few at once, each streaming from the archive.
func (p *pusher) sendArchiveBlobs(ctx context.Context, src *ociSource, c *savedContent, pl *plan, held map[digest.Digest]bool) error {
	show := func(dockersave.Event) {}
	if p.opts.layerProgress != nil {
		var mu sync.Mutex
		layer := p.opts.layerProgress()
		show = func(e dockersave.Event) {
			mu.Lock()
			defer mu.Unlock()
			layer(e)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(archiveUploads)
	for _, d := range pl.blobs {
		if held[d] {
			if _, ok := c.json[d]; !ok {
				show(dockersave.Event{Kind: dockersave.Exists, Name: shortDigest(d), Digest: d, Total: c.sizes[d]})
			}
			continue
		}
		g.Go(func() error {
			if raw, ok := c.json[d]; ok {
				return p.sendSeekable(gctx, d, bytes.NewReader(raw), int64(len(raw)), nil)
			}
			r, err := src.open(d)
			if err != nil {
				return err
			}
			defer func() { _ = r.Close() }()
			return p.sendSeekable(gctx, d, r, c.sizes[d], show)
		})
	}
	return g.Wait()
}

// sendSeekable pushes blob d, which the registry lacks, from a reader
// that can be read again: the registry client then sends it in one
// request, resumed where it broke.
func (p *pusher) sendSeekable(ctx context.Context, d digest.Digest, r io.ReadSeeker, size int64, show func(dockersave.Event)) error {
	if show == nil {
		show = func(dockersave.Event) {}
	}
	name := shortDigest(d)
	show(dockersave.Event{Kind: dockersave.Preparing, Name: name, Digest: d, Total: size})
	pr := &progressSeeker{progressReader: progressReader{r: r, step: func(n int64) {
		show(dockersave.Event{Kind: dockersave.Pushing, Name: name, Digest: d, Done: n, Total: size})
	}}, s: r}
	if err := p.reg.PushBlob(ctx, pr, size, d); err != nil {
		return fmt.Errorf("pushing blob %s to Canonical's registry: %w", d, err)
	}
	show(dockersave.Event{Kind: dockersave.Pushed, Name: name, Digest: d, Done: size, Total: size})
	return nil
}

// progressSeeker is a progressReader that can be rewound, and follows
// the reader back when it is.
type progressSeeker struct {
	progressReader
	s io.Seeker
}

func (r *progressSeeker) Seek(offset int64, whence int) (int64, error) {
	n, err := r.s.Seek(offset, whence)
	if err == nil {
		r.n, r.shown = n, n
	}
	return n, err
}
