package imagepush

import (
	"fmt"
	"slices"
	"strings"
)

// Platform is an image's OS, architecture and variant, in the OCI's (and
// Go's) names: linux/arm64, linux/arm/v7.
type Platform struct {
	OS, Architecture, Variant string
}

// String is the platform as docker's --platform takes it.
func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// ParsePlatform reads os/arch[/variant], as docker's --platform does, but
// with the OS always given: linux/arm64, linux/arm/v7.
func ParsePlatform(s string) (Platform, error) {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(s)), "/")
	for _, p := range parts {
		if p == "" || strings.ContainsAny(p, " \t,") {
			return Platform{}, fmt.Errorf("%q is not a platform: give os/architecture[/variant], e.g. linux/arm64", s)
		}
	}
	switch len(parts) {
	case 1:
		return Platform{}, fmt.Errorf("%q names no operating system: give os/architecture, e.g. linux/%s", s, parts[0])
	case 2:
		return Platform{OS: parts[0], Architecture: parts[1]}, nil
	case 3:
		return Platform{OS: parts[0], Architecture: parts[1], Variant: parts[2]}, nil
	}
	return Platform{}, fmt.Errorf("%q is not a platform: give os/architecture[/variant], e.g. linux/arm64", s)
}

// Matches tells whether an image for p is one that want asks for: the
// same OS and architecture, and the same variant when want names one
// (arm64's v8 being its default).
func (p Platform) Matches(want Platform) bool {
	if p.OS != want.OS || p.Architecture != want.Architecture {
		return false
	}
	return want.Variant == "" || normVariant(p) == normVariant(want)
}

func normVariant(p Platform) string {
	if p.Architecture == "arm64" && p.Variant == "" {
		return "v8"
	}
	return p.Variant
}

// unknown tells whether p is the platform buildx gives attestation
// manifests, which are no image to run.
func (p Platform) unknown() bool { return p.OS == "unknown" || p.Architecture == "unknown" }

// platformList joins platforms for a sentence: "linux/amd64 and
// linux/arm64".
func platformList(ps []Platform) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.String()
	}
	slices.Sort(names)
	switch len(names) {
	case 0:
		return "none"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// platformFlag is platforms as --platform takes them: "linux/amd64,linux/arm64".
func platformFlag(ps []Platform) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.String()
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

// checkPlatform refuses a classic-store image that is for none of the
// platforms chosen: it has one, which image inspect tells. (A
// containerd-store image may be an index, whose platforms its export
// tells: see planPush.)
func (p *pusher) checkPlatform(img *LocalImage) error {
	want := p.opts.platforms
	if len(want) == 0 || img.ManifestID {
		return nil
	}
	have := Platform{OS: img.OS, Architecture: img.Arch, Variant: img.Variant}
	if slices.ContainsFunc(want, have.Matches) {
		return nil
	}
	return fmt.Errorf("--platform %s: image %s is for %s only", platformFlag(want), img.ID, have)
}
