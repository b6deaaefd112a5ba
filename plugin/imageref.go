package plugin

import (
	"fmt"
	"regexp"
	"strings"
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

// parseImageDigest checks the --image value. It refuses, each with its own
// sentence, everything that is not a digest: names, tags, registries and
// URLs, other algorithms, bad or too few hex characters. Uppercase hex is
// accepted and normalised to lowercase, as the docker CLI does.
func parseImageDigest(s string) (imageDigest, error) {
	const example = "pass the image ID or digest alone, e.g. --image=sha256:<64 hex characters> or --image=<first 12 or more hex characters>"
	switch {
	case s == "":
		return imageDigest{}, fmt.Errorf("--image needs a value: %s", example)
	case strings.Contains(s, "://"):
		return imageDigest{}, fmt.Errorf("--image %q is a URL, but only Canonical's registry is used, so no registry is given: %s", s, example)
	case strings.Contains(s, "@"):
		name, _, _ := strings.Cut(s, "@")
		if first, _, ok := strings.Cut(name, "/"); ok && hostRE.MatchString(first) {
			return imageDigest{}, fmt.Errorf("--image %q names a registry, but only Canonical's registry is used: %s", s, example)
		}
		return imageDigest{}, fmt.Errorf("--image %q includes an image name, which is not needed since the charm and resource already identify the image: %s", s, example)
	}
	if algo, rest, ok := strings.Cut(s, ":"); ok {
		switch {
		case strings.EqualFold(algo, "sha256"):
			return parseHex(s, rest, true)
		case algorithmRE.MatchString(algo) && len(rest) >= 32 && hexRE.MatchString(rest):
			return imageDigest{}, fmt.Errorf("--image %q uses the %s algorithm, but only sha256 digests are supported: %s", s, algo, example)
		case strings.Contains(rest, "/"):
			return imageDigest{}, fmt.Errorf("--image %q names a registry, but only Canonical's registry is used: %s", s, example)
		default:
			return imageDigest{}, fmt.Errorf("--image %q includes a tag, but a tag can point to different images over time so it is not accepted: %s", s, example)
		}
	}
	if !hexRE.MatchString(s) {
		if first, _, ok := strings.Cut(s, "/"); ok && hostRE.MatchString(first) {
			return imageDigest{}, fmt.Errorf("--image %q names a registry, but only Canonical's registry is used: %s", s, example)
		}
		return imageDigest{}, fmt.Errorf("--image %q is an image name, which is not needed since the charm and resource already identify the image: %s", s, example)
	}
	return parseHex(s, s, false)
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
