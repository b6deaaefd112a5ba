package plugin

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
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

// digestExample is what --image takes, for the refusals.
const digestExample = "pass the image ID or digest alone, e.g. --image=sha256:<64 hex characters> or --image=<first 12 or more hex characters>"

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
		case algorithmRE.MatchString(algo) && len(rest) >= 32 && hexRE.MatchString(rest):
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
}

func (e *imageNameError) Error() string {
	if e.id != "" {
		return fmt.Sprintf("--image %q %s: use --image=%s, the ID of the local image it names now", e.value, e.why, shortImageID(e.id))
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
	if ierr != nil || !strings.HasPrefix(insp.ID, "sha256:") {
		if w := env.debugLog(); w != nil {
			_, _ = fmt.Fprintf(w, "no local image named %s for the hint: %v\n", quotePath(nameErr.value), ierr)
		}
		return err
	}
	nameErr.id = insp.ID
	return nameErr
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
