package plugin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/canonical/docker-charmcraft/imagepush"
	"github.com/moby/moby/client"
)

// minShortDigest is the shortest image ID prefix accepted: the 12
// characters `docker images` shows.
const minShortDigest = 12

// imageDigest is what --image names: a full sha256 digest, or the prefix of
// a local image ID.
type imageDigest struct {
	hex  string // lowercase, 12 to 64 characters
	full bool   // all 64 characters are known
}

// String returns the digest in its `sha256:...` form (a prefix when short).
func (d imageDigest) String() string { return "sha256:" + d.hex }

var (
	hexRE       = regexp.MustCompile(`^[0-9a-fA-F]+$`)
	algorithmRE = regexp.MustCompile(`^[a-z0-9]+(?:[+._-][a-z0-9]+)*$`)
	hostRE      = regexp.MustCompile(`^(?:localhost|[^/]*[.:][^/]*)$`)
)

// knownAlgorithms are digest algorithms other than sha256: a value that
// starts with one is a digest, however short, not a name and a tag.
var knownAlgorithms = map[string]bool{"sha384": true, "sha512": true, "sha1": true, "md5": true, "blake3": true}

// digestExample is what --image takes, for the refusals.
const digestExample = "pass the image ID or digest alone, e.g. --image=sha256:<64 hex characters> or --image=<first 12 or more hex characters>, or the path of a rock (an OCI archive), e.g. --image=./NAME_1.0_amd64.rock"

// imageArg is what --image names: an image by its digest, or an OCI
// archive or layout directory (a rock) by its path.
type imageArg struct {
	digest  imageDigest
	archive *imagepush.Archive // nil for a digest
}

// parseImageArg reads --image, as charmcraft does: `oci-archive:PATH`
// and `oci:PATH` name an OCI archive and an OCI layout directory; a value
// shaped as a path (./, ../, /, ~/, a Windows drive or .\), or naming a
// file or directory that exists, is one of them, told by what it is;
// anything else is a digest (see parseImageDigest), spaces around it
// trimmed. A value that is both a digest and the name of a file here is
// refused: ./NAME says it is the file. stat is os.Stat, but in tests.
func parseImageArg(s string, stat func(string) (fs.FileInfo, error)) (imageArg, error) {
	if kind, p, ok := strings.Cut(s, ":"); ok && (kind == "oci-archive" || kind == "oci") {
		return archiveArg(s, p, kind == "oci", stat)
	}
	if pathShaped(s) {
		return archiveArg(s, s, false, stat)
	}
	d, derr := parseImageDigest(strings.TrimSpace(s))
	if _, err := stat(s); err == nil {
		if derr == nil {
			return imageArg{}, fmt.Errorf("--image %q is both an image ID and the name of a file or directory here: give --image=./%s for the file, or --image=sha256:%s for the image", s, s, d.hex)
		}
		return archiveArg(s, s, false, stat)
	}
	if _, named := errors.AsType[*imageNameError](derr); named && fileShaped(s) && !strings.ContainsAny(s, ":@") {
		return imageArg{}, hint(fmt.Errorf("--image %q: no such file in this directory, and it is no image ID", s),
			fmt.Sprintf("Give the path of the rock (an OCI archive), e.g. --image=./NAME_1.0_amd64.rock or --image=/path/to/%s, or an image ID.", s))
	}
	return imageArg{digest: d}, derr
}

// archiveArg is the OCI archive, or layout directory, at p: a layout when
// it is a directory, or when layout is true, which says it must be.
func archiveArg(s, p string, layout bool, stat func(string) (fs.FileInfo, error)) (imageArg, error) {
	if p == "" {
		return imageArg{}, fmt.Errorf("--image %q names no path: give the OCI archive (a rock) or OCI layout directory after the colon", s)
	}
	if rest, ok := strings.CutPrefix(p, "~"); ok && (rest == "" || rest[0] == '/' || rest[0] == filepath.Separator) {
		if home, err := os.UserHomeDir(); err == nil {
			p = home + rest
		}
	}
	info, err := stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return imageArg{}, fmt.Errorf("--image %q: no such file or directory %q (--image takes the path of a rock, or of another OCI archive or layout directory, or an image ID)", s, p)
	case err != nil:
		return imageArg{}, fmt.Errorf("--image %q: %w", s, err)
	case layout && !info.IsDir():
		return imageArg{}, fmt.Errorf("--image %q: %q is a file, not an OCI layout directory; an OCI archive (a rock) is given as --image=oci-archive:%s, or by its path alone", s, p, p)
	case !layout && !info.IsDir() && !info.Mode().IsRegular():
		return imageArg{}, fmt.Errorf("--image %q: %q is neither a file nor a directory", s, p)
	case strings.HasPrefix(s, "oci-archive:") && info.IsDir():
		return imageArg{}, fmt.Errorf("--image %q: %q is a directory, not an OCI archive; an OCI layout directory is given as --image=oci:%s, or by its path alone", s, p, p)
	}
	return imageArg{archive: &imagepush.Archive{Path: p, Layout: info.IsDir()}}, nil
}

// pathShaped tells whether s has the shape of a path, which no image ID,
// digest, name or tag has: it starts with ./, ../, /, ~/ or a Windows
// drive, or holds a backslash (.\, a UNC path).
func pathShaped(s string) bool {
	for _, prefix := range []string{"./", "../", "/", "~/"} {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	drive := len(s) >= 3 && s[1] == ':' && (s[2] == '\\' || s[2] == '/') &&
		('a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z')
	return drive || s == "." || s == ".." || strings.Contains(s, `\`)
}

// fileShaped tells whether s reads as a file name: a rock or a tar.
func fileShaped(s string) bool {
	for _, ext := range []string{".rock", ".tar", ".oci"} {
		if strings.HasSuffix(strings.ToLower(s), ext) {
			return true
		}
	}
	return false
}

// parseImageDigest checks the --image value. It refuses, each with its own
// sentence, everything that is not a digest: names, tags, registries and
// URLs, other algorithms, bad or too few hex characters. Uppercase hex is
// accepted and normalised to lowercase, as the docker CLI does. A value
// that names an image is refused with an *imageNameError.
func parseImageDigest(s string) (imageDigest, error) {
	named := func(why string) (imageDigest, error) { return imageDigest{}, &imageNameError{value: s, why: why} }
	const registry = "names a registry, but only Canonical's registry is used"
	switch {
	case s == "":
		return imageDigest{}, fmt.Errorf("--image needs a value: %s", digestExample)
	case strings.Contains(s, "://"):
		return imageDigest{}, fmt.Errorf("--image %q is a URL, but only Canonical's registry is used, so no registry is given: %s", s, digestExample)
	case strings.Contains(s, "@"):
		name, _, _ := strings.Cut(s, "@")
		if first, _, ok := strings.Cut(name, "/"); ok && hostRE.MatchString(first) {
			return named(registry)
		}
		return named("includes an image name, which is not needed since the charm and resource already identify the image")
	}
	if algo, rest, ok := strings.Cut(s, ":"); ok {
		switch {
		case strings.EqualFold(algo, "sha256"):
			return parseHex(s, rest, true)
		case knownAlgorithms[strings.ToLower(algo)] || algorithmRE.MatchString(algo) && len(rest) >= 32 && hexRE.MatchString(rest):
			return imageDigest{}, fmt.Errorf("--image %q uses the %s algorithm, but only sha256 digests are supported: %s", s, algo, digestExample)
		case strings.Contains(rest, "/"):
			return named(registry)
		default:
			return named("includes a tag, but a tag can point to different images over time so it is not accepted")
		}
	}
	if !hexRE.MatchString(s) {
		if first, _, ok := strings.Cut(s, "/"); ok && hostRE.MatchString(first) {
			return named(registry)
		}
		return named("is an image name, which is not needed since the charm and resource already identify the image")
	}
	return parseHex(s, s, false)
}

// imageNameError refuses an --image value that names an image (a name, a
// tag, a registry) instead of giving its digest. When the local daemon
// knows the name, id is the image it stands for now, to give instead.
type imageNameError struct {
	value, why string
	id         string
	// local are the local images of the name's tags, when it is a name
	// alone that names no image as name:latest.
	local []localImage
}

type localImage struct {
	id   string
	tags []string
}

func (e *imageNameError) Error() string {
	switch {
	case e.id != "":
		return fmt.Sprintf("--image %q %s: use --image=%s, the ID of the local image it names now", e.value, e.why, shortImageID(e.id))
	case len(e.local) == 1:
		return fmt.Sprintf("--image %q %s: use --image=%s, the ID of the local image %s", e.value, e.why, shortImageID(e.local[0].id), strings.Join(e.local[0].tags, ", "))
	case len(e.local) > 1:
		var ids []string
		for _, img := range e.local {
			ids = append(ids, fmt.Sprintf("%s (%s)", shortImageID(img.id), strings.Join(img.tags, ", ")))
		}
		return fmt.Sprintf("--image %q %s: use the ID of the local image you mean, e.g. --image=%s; the local images of that name are %s", e.value, e.why, shortImageID(e.local[0].id), strings.Join(ids, ", "))
	}
	return fmt.Sprintf("--image %q %s: %s", e.value, e.why, digestExample)
}

// shortImageID is an image ID as `docker images` shows it: 12 hex digits.
func shortImageID(id string) string {
	h := strings.TrimPrefix(id, "sha256:")
	return h[:min(len(h), minShortDigest)]
}

// daemonHintTimeout bounds what the daemon is asked for a hint or a
// completion: it is only a help, and must not hold the answer up.
const daemonHintTimeout = 2 * time.Second

// withLocalImageID completes the refusal of an image name with the ID
// of the local image it names, when the daemon answers at once; other
// errors are returned as they are. The daemon is asked only once the
// value is refused.
func withLocalImageID(ctx context.Context, env *cliEnv, err error) error {
	nameErr, ok := errors.AsType[*imageNameError](err)
	if !ok {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, daemonHintTimeout)
	defer cancel()
	insp, ierr := env.dockerCli.Client().ImageInspect(ctx, nameErr.value)
	if ierr == nil && strings.HasPrefix(insp.ID, "sha256:") {
		nameErr.id = insp.ID
		return nameErr
	}
	if !strings.ContainsAny(nameErr.value, ":@") {
		// A name alone is name:latest to the daemon; its other tags
		// are found by listing.
		list, lerr := env.dockerCli.Client().ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("reference", nameErr.value)})
		if lerr == nil {
			for _, img := range list.Items {
				if strings.HasPrefix(img.ID, "sha256:") {
					nameErr.local = append(nameErr.local, localImage{id: img.ID, tags: img.RepoTags})
				}
			}
		}
		if len(nameErr.local) > 0 {
			return nameErr
		}
	}
	if w := env.debugLog(); w != nil {
		_, _ = fmt.Fprintf(w, "no local image named %s for the hint: %v\n", quotePath(nameErr.value), ierr)
	}
	return err
}

func parseHex(orig, hex string, prefixed bool) (imageDigest, error) {
	const example = "pass sha256: followed by 64 hex characters, or at least the first 12 of them"
	switch {
	case hex == "" || !hexRE.MatchString(hex):
		return imageDigest{}, fmt.Errorf("--image %q is not a valid digest: after sha256: only hex characters (0-9, a-f) may follow; %s", orig, example)
	case len(hex) > 64:
		return imageDigest{}, fmt.Errorf("--image %q is not a valid digest: a sha256 digest has 64 hex characters, this one has %d; %s", orig, len(hex), example)
	case len(hex) < minShortDigest:
		what := "an image ID prefix"
		if prefixed {
			what = "a digest prefix"
		}
		return imageDigest{}, fmt.Errorf("--image %q is too short for %s: give at least %d hex characters (as `docker images` shows) or the full 64", orig, what, minShortDigest)
	}
	return imageDigest{hex: strings.ToLower(hex), full: len(hex) == 64}, nil
}
