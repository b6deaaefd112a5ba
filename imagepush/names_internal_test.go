package imagepush

import (
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestUntagSafe checks the daemon push's rule against what Docker 26 and
// 28 (containerd store) listed of real images, before the push.
func TestUntagSafe(t *testing.T) {
	id := digest.Digest("sha256:0a90c4a7b832916ab53419c6bab6fd757c7dc5ec68d7c7b1e99d181ab5d50734")
	const repo = "charm/charm-id-alice/my-image"
	for _, tt := range []struct {
		name string
		n    names
		safe bool
	}{
		{"untagged", names{}, false},
		{"several tags", names{
			listed:  []string{"names-e2e-a:1", "names-e2e-a:2", "names-e2e-b:latest"},
			tags:    []string{"names-e2e-a:1", "names-e2e-a:2", "names-e2e-b:latest"},
			digests: []string{"names-e2e-a@" + id.String(), "names-e2e-b@" + id.String()},
		}, true},
		{"rock on 28", names{listed: []string{"3.0", "3.0"}, tags: []string{"3.0"}}, false},
		{"rock on 26", names{listed: []string{"3.0", "3.0"}}, false},
		{"rock tagged on 28", names{
			listed: []string{"3.0", "names-e2e-rock:3.0"}, tags: []string{"3.0", "names-e2e-rock:3.0"},
			digests: []string{"names-e2e-rock@" + id.String()},
		}, false},
		{"rock tagged on 26", names{
			listed: []string{"3.0", "names-e2e-rock:3.0"}, tags: []string{"names-e2e-rock:3.0"},
			digests: []string{"names-e2e-rock@" + id.String()},
		}, false},
		{"unparsed name with a tag, on 28", names{listed: []string{"foo:1", "foo:1"}, tags: []string{"foo:1"}}, false},
		{"pulled by digest, on 28", names{
			listed: []string{"127.0.0.1:39509/names/d@" + id.String()}, tags: []string{"127.0.0.1:39509/names/d@" + id.String()},
			digests: []string{"127.0.0.1:39509/names/d@" + id.String()},
		}, true},
		{"pulled by digest, on 26", names{
			listed: []string{"127.0.0.1:39509/names/d@" + id.String()}, digests: []string{"127.0.0.1:39509/names/d@" + id.String()},
		}, false},
		// On Docker 28 the names are read from inspect alone: its tags
		// stand for the list's, and refuse what the list refused.
		{"rock on 28, by inspect", byInspect([]string{"3.0"}, nil), false},
		{"rock tagged on 28, by inspect", byInspect([]string{"3.0", "names-e2e-rock:3.0"}, []string{"names-e2e-rock@" + id.String()}), false},
		{"unparsed name with a tag, on 28, by inspect", byInspect([]string{"foo:1"}, nil), false},
		{"several tags, by inspect", byInspect([]string{"names-e2e-a:1", "names-e2e-a:2"}, []string{"names-e2e-a@" + id.String()}), true},
		{"a name in the repository pushed to", names{
			listed: []string{"registry.example/" + repo + ":1"}, tags: []string{"registry.example/" + repo + ":1"},
			digests: []string{"registry.example/" + repo + "@" + id.String()},
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := untagSafe(tt.n, id, repo)
			if (err == nil) != tt.safe {
				t.Errorf("untagSafe: %v, want safe %v", err, tt.safe)
			}
		})
	}
}

// byInspect is the names of an image as Docker 28's inspect tells them,
// with no listing (see readNames).
func byInspect(tags, digests []string) names {
	return names{listed: tags, tags: tags, digests: digests}
}

// TestAtLeast compares API versions as numbers.
func TestAtLeast(t *testing.T) {
	for v, want := range map[string]bool{"1.48": true, "1.51": true, "2.0": true, "1.47": false, "1.45": false, "1.9": false, "": false, "x.y": false, "1": false} {
		if got := atLeast(v, "1.48"); got != want {
			t.Errorf("atLeast(%q, 1.48) = %v, want %v", v, got, want)
		}
	}
}

// TestTempNames checks which names are a daemon push's temporary ones,
// and that they leave the rest alone.
func TestTempNames(t *testing.T) {
	id := digest.Digest("sha256:" + strings.Repeat("ab", 32))
	const repo = "charm/x/img"
	direct := "registry.example/" + repo + ":" + RecordTag(id)
	temp := tempNamer(id, repo, direct)
	for name, want := range map[string]bool{
		direct: true,
		"127.13.4.5:4321/" + repo + ":" + RecordTag(id): true,
		"127.0.0.1:4321/" + repo + ":" + RecordTag(id):  false, // a registry's, not a relay's
		"127.13.4.5:4321/" + repo + ":1":                false,
		"127.13.4.5:4321/charm/y/img:" + RecordTag(id):  false,
		"myapp:1": false,
	} {
		if got := temp(name); got != want {
			t.Errorf("%s: temporary %v, want %v", name, got, want)
		}
	}
	n := names{
		listed:  []string{"myapp:1", direct},
		tags:    []string{"myapp:1", direct},
		digests: []string{"myapp@" + id.String(), "registry.example/" + repo + "@" + id.String()},
	}
	want := names{listed: []string{"myapp:1"}, tags: []string{"myapp:1"}, digests: []string{"myapp@" + id.String()}}
	if got := n.without(temp); !got.equal(want) {
		t.Errorf("without the temporary names: %s, want %s", got, want)
	}
}
