package imagepush

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/image"
	"github.com/opencontainers/go-digest"
)

// The daemon pushes only an image it holds under a name in the registry's
// repository: a daemon push tags the image with a temporary name, and
// removes that name after. On the containerd store, removing a name is
// not an untag of that name alone (moby's getSameReferences, Docker 26
// and 28 alike): it also removes every name of the same image that the
// daemon cannot parse as a full reference, as `docker load` of a rock
// gives ("3.0", listed twice in RepoTags), and the image's dangling name;
// when nothing else is left, the image itself is deleted. So the daemon
// pushes only an image whose every name is one the daemon parses, in
// another repository (names), and the names are read again after
// (checkNames), a name lost then being tagged again.

// names is what the daemon lists of one image's names: the RepoTags of
// its entry in the image list, and the RepoTags and RepoDigests of its
// inspect. The list names a name the daemon cannot parse (twice, when it
// is the one the entry was made from); Docker 26's inspect does not name
// it at all, Docker 28.5's names it without its digest form, which
// untagSafe refuses as it refuses the list's: there the list adds
// nothing, and is not asked for (it takes 0.2 s or more on the containerd
// store, which sums the size of every image).
type names struct {
	listed        []string
	tags, digests []string
}

// readNames reads the names of image id; ok is false when the daemon
// does not list it. A daemon whose inspect names every name (byInspect:
// Docker 28.3 and later, see inspectNamesAPI) is not asked for its list,
// whose names would add none: its listed names are its inspect's tags.
func readNames(ctx context.Context, d Daemon, id digest.Digest, byInspect bool) (n names, ok bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, daemonTimeout)
	defer cancel()
	if byInspect {
		insp, err := d.ImageInspect(ctx, id.String())
		switch {
		case cerrdefs.IsNotFound(err):
			return names{}, false, nil
		case err != nil:
			return names{}, false, daemonError(err)
		case insp.ID != id.String():
			return names{}, false, nil // a name that now names another image
		}
		return names{listed: insp.RepoTags, tags: insp.RepoTags, digests: insp.RepoDigests}, true, nil
	}
	list, err := listImages(ctx, d, func(img image.Summary) bool { return img.ID == id.String() })
	if err != nil {
		return names{}, false, daemonError(err)
	}
	for _, s := range list.Items {
		if s.ID == id.String() {
			n.listed, ok = append(n.listed, s.RepoTags...), true
		}
	}
	if !ok {
		return names{}, false, nil
	}
	insp, err := d.ImageInspect(ctx, id.String())
	if err != nil {
		return names{}, false, daemonError(err)
	}
	n.tags, n.digests = insp.RepoTags, insp.RepoDigests
	return n, true, nil
}

// without is n less the names temp tells are a daemon push's temporary
// names, and their digest forms.
func (n names) without(temp func(string) bool) names {
	var out names
	repos := map[string]bool{}
	for _, t := range slices.Concat(n.listed, n.tags) {
		if temp(t) {
			repo, _, _ := strings.Cut(t, "@")
			repos[repo[:strings.LastIndex(repo, ":")]] = true
		}
	}
	keep := func(s []string) []string {
		return slices.DeleteFunc(slices.Clone(s), temp)
	}
	out.listed, out.tags = keep(n.listed), keep(n.tags)
	out.digests = slices.DeleteFunc(slices.Clone(n.digests), func(d string) bool {
		repo, _, _ := strings.Cut(d, "@")
		return repos[repo]
	})
	return out
}

// equal tells whether n and m list the same names, in any order.
func (n names) equal(m names) bool {
	same := func(a, b []string) bool {
		a, b = slices.Clone(a), slices.Clone(b)
		slices.Sort(a)
		slices.Sort(b)
		return slices.Equal(a, b)
	}
	return same(n.listed, m.listed) && same(n.tags, m.tags) && same(n.digests, m.digests)
}

func (n names) String() string {
	return fmt.Sprintf("listed %q, inspect tags %q, digests %q", n.listed, n.tags, n.digests)
}

// untagSafe tells why removing a temporary name of the image id, in
// repository repo, could change its other names, n (without the
// temporary ones): nil when it cannot. Each must be a name the daemon
// parses as a full reference (its list and inspect agree, and name each
// once; a tagged name has its digest form), out of repo; at least one
// must be there.
func untagSafe(n names, id digest.Digest, repo string) error {
	if len(n.tags) == 0 {
		return errors.New("the image has no name the Docker daemon parses as a full reference: the temporary name would be its only one, and removing it would delete the image")
	}
	listed, tags := slices.Clone(n.listed), slices.Clone(n.tags)
	slices.Sort(listed)
	slices.Sort(tags)
	if !slices.Equal(listed, tags) || len(slices.Compact(tags)) != len(n.tags) {
		return fmt.Errorf("the Docker daemon lists names of the image it cannot parse (%s): removing the temporary name would remove them too", n)
	}
	for _, t := range n.tags {
		ref, err := reference.ParseNormalizedNamed(t)
		if err != nil || reference.FamiliarString(ref) != t {
			return fmt.Errorf("the image's name %q is not one the Docker daemon parses: removing the temporary name would remove it too", t)
		}
		if reference.Path(ref) == repo {
			return fmt.Errorf("the image's name %q is in the repository the daemon would push to: removing the temporary name could remove it too", t)
		}
		if _, digested := ref.(reference.Digested); digested {
			continue
		}
		if _, tagged := ref.(reference.Tagged); !tagged {
			return fmt.Errorf("the image's name %q has no tag: the Docker daemon does not parse it, and removing the temporary name would remove it too", t)
		}
		if d := reference.FamiliarName(ref) + "@" + id.String(); !slices.Contains(n.digests, d) {
			return fmt.Errorf("the Docker daemon does not give the image's name %q its digest form %s: it may not parse it, and removing the temporary name would remove it too", t, d)
		}
	}
	return nil
}

// tempNamer tells a daemon push's temporary names of the image id in
// repository repo: the one given, and any other whose host is a relay's
// (127.13.0.0/16) and whose tag is the image's record tag, left by a run
// killed before it removed it.
func tempNamer(id digest.Digest, repo string, given ...string) func(string) bool {
	suffix := "/" + repo + ":" + RecordTag(id)
	return func(name string) bool {
		if slices.Contains(given, name) {
			return true
		}
		host, ok := strings.CutSuffix(name, suffix)
		return ok && relayHost(host)
	}
}

// relayHost tells whether host:port is in the relays' range.
func relayHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host).To4()
	return ip != nil && ip[0] == 127 && ip[1] == 13
}

// relayAlive tells whether a relay listens at host:port: that of a push
// still running, whose temporary name must stay.
func relayAlive(ctx context.Context, hostport string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", hostport)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}
