package dockersave

import (
	"path"
	"strings"

	"github.com/opencontainers/go-digest"
)

// cleanName checks a path read from the archive (an entry name, or a path
// in manifest.json) and returns it in canonical form, relative to the
// archive root. Absolute paths and ".." are refused: docker save never
// writes them, and followed naively they escape the archive.
func cleanName(name string, lim limits) (string, error) {
	switch {
	case len(name) > lim.nameLen:
		return "", errorf(ErrLimit, "name of %d bytes starting %q is longer than %d bytes", len(name), prefix(name), lim.nameLen)
	case name == "" || strings.ContainsRune(name, 0):
		return "", errorf(ErrInvalidArchive, "empty or malformed name %q", name)
	case strings.HasPrefix(name, "/"):
		return "", errorf(ErrInvalidArchive, "absolute name %q", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", errorf(ErrInvalidArchive, "name %q contains \"..\"", name)
		}
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", errorf(ErrInvalidArchive, "name %q names the archive root", name)
	}
	return clean, nil
}

// linkTarget returns, relative to the archive root, the path a link entry
// named name points to. A symlink's target is relative to the link's
// directory, a hard link's to the archive root; neither may be absolute
// or lead out of the archive.
func linkTarget(name, target string, symlink bool, lim limits) (string, error) {
	switch {
	case len(target) > lim.nameLen:
		return "", errorf(ErrLimit, "link %q: target of %d bytes is longer than %d bytes", name, len(target), lim.nameLen)
	case target == "" || strings.ContainsRune(target, 0):
		return "", errorf(ErrInvalidArchive, "link %q: empty or malformed target %q", name, target)
	case strings.HasPrefix(target, "/"):
		return "", errorf(ErrInvalidArchive, "link %q: absolute target %q", name, target)
	}
	joined := path.Clean(target)
	if symlink {
		joined = path.Join(path.Dir(name), target)
	}
	if joined == "." || joined == ".." || strings.HasPrefix(joined, "../") {
		return "", errorf(ErrInvalidArchive, "link %q: target %q leads out of the archive", name, target)
	}
	return joined, nil
}

// blobDigest returns the digest an OCI layout blob's path names
// (blobs/sha256/<hex>); ok is false for any other path.
func blobDigest(name string) (d digest.Digest, ok bool) {
	rest, found := strings.CutPrefix(name, "blobs/")
	if !found {
		return "", false
	}
	alg, enc, found := strings.Cut(rest, "/")
	if !found || alg != string(digest.SHA256) {
		return "", false
	}
	d = digest.NewDigestFromEncoded(digest.SHA256, enc)
	return d, d.Validate() == nil
}

// prefix shortens s for an error message.
func prefix(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
