package plugin

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/imagepush"
)

// charmhubArchs are the architectures Charmhub knows, in Debian's names.
var charmhubArchs = []string{"amd64", "arm64", "armhf", "ppc64el", "riscv64", "s390x"}

// parseArchFlag checks --arch: "all" alone, or a comma-separated list of
// Charmhub's architectures (repeats dropped). "" means all.
func parseArchFlag(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return []string{"all"}, nil
	}
	return parseArchList("--arch %q", "--arch=", s)
}

// parseArchList checks a list of architectures as parseArchFlag does;
// the refusals name it with what (a format for the value) and show
// examples after prefix.
func parseArchList(what, prefix, s string) ([]string, error) {
	var archs []string
	for a := range strings.SplitSeq(s, ",") {
		a = strings.TrimSpace(a)
		switch {
		case a == "":
			return nil, fmt.Errorf(what+" has an empty item: give architectures separated by commas, e.g. %samd64,arm64", s, prefix)
		case a == "all" && s != "all":
			return nil, fmt.Errorf(what+": \"all\" stands alone, it cannot be listed with other architectures", s)
		case a != "all" && !slices.Contains(charmhubArchs, a):
			hint := ""
			if d := debianArch(a); d != a && slices.Contains(charmhubArchs, d) {
				hint = fmt.Sprintf(" (Charmhub calls %s %q)", a, d)
			}
			return nil, fmt.Errorf(what+": unknown architecture %q%s; use %s, or all", s, a, hint, strings.Join(charmhubArchs, ", "))
		}
		if !slices.Contains(archs, a) {
			archs = append(archs, a)
		}
	}
	return archs, nil
}

// basesFor is the bases of a revision for these architectures.
func basesFor(archs []string) []charmhub.Base {
	return []charmhub.Base{{Name: "all", Channel: "all", Architectures: archs}}
}

// debianArch maps a Go (OCI) architecture name to Debian's, which
// Charmhub uses.
func debianArch(goarch string) string {
	switch goarch {
	case "arm":
		return "armhf"
	case "ppc64le":
		return "ppc64el"
	}
	return goarch
}

// imageArchs turns the architectures an image declares into the ones
// sent with its revision: "all" when unknown; a warning on w, and "all",
// when Charmhub does not know one of them.
func imageArchs(w io.Writer, goarchs []string) []string {
	var archs []string
	for _, g := range goarchs {
		a := debianArch(g)
		switch {
		case g == "" || g == "unknown":
			continue
		case !slices.Contains(charmhubArchs, a):
			_, _ = fmt.Fprintf(w, "The image is for architecture %q, which Charmhub does not know; the revision is marked for all architectures\n", g)
			return []string{"all"}
		case !slices.Contains(archs, a):
			archs = append(archs, a)
		}
	}
	if len(archs) == 0 {
		return []string{"all"}
	}
	return archs
}

// sorted sorts archs in place, and returns them: an index's platforms
// come in its own order, a revision lists them sorted.
func sorted(archs []string) []string {
	slices.Sort(archs)
	return archs
}

// parsePlatformFlag checks the values of --platform, each os/arch[/variant]
// (the flag splits commas), repeats dropped.
func parsePlatformFlag(values []string) ([]imagepush.Platform, error) {
	var ps []imagepush.Platform
	for _, v := range values {
		p, err := imagepush.ParsePlatform(v)
		if err != nil {
			return nil, fmt.Errorf("--platform: %w", err)
		}
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	return ps, nil
}

// platformArchs is the Go architectures of platforms.
func platformArchs(ps []imagepush.Platform) []string {
	archs := make([]string, len(ps))
	for i, p := range ps {
		archs[i] = p.Architecture
	}
	return archs
}
