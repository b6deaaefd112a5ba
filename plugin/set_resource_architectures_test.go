package plugin

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// uploadRevisions makes n revisions of my-file, for all architectures.
func uploadRevisions(t *testing.T, env map[string]string, n int) {
	t.Helper()
	path := writeTestFile(t, "data.bin", 100)
	for range n {
		if res := run(t, env, "upload-resource", "my-charm", "my-file", "--filepath", path, "-q"); res.code != 0 {
			t.Fatalf("uploading: %s", res)
		}
	}
}

func TestSetResourceArchitectures(t *testing.T) {
	hub := newHub(t)
	env := hubEnv(hub, ownerToken)
	uploadRevisions(t, env, 3)

	// bob collaborates on my-charm: he may change it too.
	res := run(t, hubEnv(hub, collabToken), "set-resource-architectures", "my-charm", "my-file", "--revision=1", "--revision", "3", "arm64,amd64")
	table := regexp.MustCompile(`^Revision +Updated At +Architectures\n` +
		`3 +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +amd64,arm64\n` +
		`1 +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +amd64,arm64\n$`)
	if res.code != 0 || res.stderr != "2 revision(s) updated.\n" || !table.MatchString(res.stdout) {
		t.Fatalf("want the two revisions updated, newest first: %s", res)
	}
	for _, r := range hub.Revisions("my-charm", "my-file") {
		want := []string{"arm64", "amd64"}
		if r.Revision == 2 {
			want = []string{"all"}
		}
		if got := r.Bases[0].Architectures; !slices.Equal(got, want) {
			t.Errorf("revision %d is for %q, want %q", r.Revision, got, want)
		}
	}

	res = run(t, env, "resource-revisions", "my-charm", "my-file")
	archs := regexp.MustCompile(`(?m)^(\d) .* (\S+)$`).FindAllStringSubmatch(res.stdout, -1)
	if len(archs) != 3 || archs[0][2] != "amd64,arm64" || archs[1][2] != "all" || archs[2][2] != "amd64,arm64" {
		t.Errorf("resource-revisions after the update: %s", res)
	}

	res = run(t, env, "set-resource-architectures", "my-charm", "my-file", "--revision=2", "--revision=2", "all", "--format=json")
	var got []struct {
		Revision      int      `json:"revision"`
		UpdatedAt     *string  `json:"updated_at"`
		Architectures []string `json:"architectures"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil || res.code != 0 {
		t.Fatalf("JSON: %v: %s", err, res)
	}
	if len(got) != 1 || got[0].Revision != 2 || got[0].UpdatedAt == nil || !strings.HasSuffix(*got[0].UpdatedAt, "+00:00") || !slices.Equal(got[0].Architectures, []string{"all"}) {
		t.Errorf("JSON: %s", res.stdout)
	}
	if n := hub.Count("PATCH", "/api/v1/charm/my-charm/resources/my-file/revisions"); n != 2 {
		t.Errorf("%d PATCH requests, want 2", n)
	}
}

func TestSetResourceArchitecturesRefusals(t *testing.T) {
	hub := newHub(t)
	env := hubEnv(hub, ownerToken)
	uploadRevisions(t, env, 1)
	patches := func() int { return hub.Count("PATCH", "/api/v1/charm/*/resources/*/revisions") }
	tests := []struct {
		name   string
		token  string
		args   []string
		stderr string
		sent   bool // the request reached Charmhub
	}{
		{name: "no revision", args: []string{"my-charm", "my-file", "amd64"},
			stderr: "give the revisions to update with --revision=N, once for each"},
		{name: "bad revision", args: []string{"my-charm", "my-file", "--revision=two", "amd64"},
			stderr: "--revision 'two' is not a revision number"},
		{name: "revision zero", args: []string{"my-charm", "my-file", "--revision=0", "amd64"},
			stderr: "--revision '0' is not a revision number"},
		{name: "unknown architecture", args: []string{"my-charm", "my-file", "--revision=1", "x86_64"},
			stderr: `ARCHS "x86_64": unknown architecture "x86_64"; use amd64, arm64, armhf, ppc64el, riscv64, s390x, or all`},
		{name: "Go's name", args: []string{"my-charm", "my-file", "--revision=1", "ppc64le"},
			stderr: `Charmhub calls ppc64le "ppc64el"`},
		{name: "all with others", args: []string{"my-charm", "my-file", "--revision=1", "all,amd64"},
			stderr: `"all" stands alone`},
		{name: "empty item", args: []string{"my-charm", "my-file", "--revision=1", "amd64,"},
			stderr: "has an empty item: give architectures separated by commas, e.g. amd64,arm64"},
		{name: "empty", args: []string{"my-charm", "my-file", "--revision=1", ""},
			stderr: "ARCHS is empty"},
		{name: "bad format", args: []string{"my-charm", "my-file", "--revision=1", "amd64", "--format=yaml"},
			stderr: `--format "yaml" is not supported`},
		{name: "a revision that does not exist", args: []string{"my-charm", "my-file", "--revision=1", "--revision=7", "amd64"}, sent: true,
			stderr: "charm 'my-charm', its resource 'my-file' or one of the revisions 1, 7 was not found on Charmhub (404 Not Found; not-found: Revision 7 "},
		// The revisions are listed before they are changed: an unknown
		// resource, or no rights, stops the run before any change is sent.
		{name: "unknown resource", args: []string{"my-charm", "nope", "--revision=1", "amd64"},
			stderr: "charm 'my-charm', its resource 'nope' or revision 1 was not found on Charmhub"},
		{name: "no rights", token: strangerToken, args: []string{"my-charm", "my-file", "--revision=1", "amd64"},
			stderr: "only the owner or a collaborator of charm 'my-charm' may change its resources"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := tt.token
			if token == "" {
				token = ownerToken
			}
			before := patches()
			res := run(t, hubEnv(hub, token), append([]string{"set-resource-architectures"}, tt.args...)...)
			cause, _, _ := strings.Cut(res.stderr, "\n")
			if res.code != 1 || res.stdout != "" || !strings.Contains(cause, tt.stderr) || strings.Count(res.stderr, "\n") > 2 {
				t.Errorf("want the cause %q on the first line, at most one hint after: %s", tt.stderr, res)
			}
			if sent := patches() > before; sent != tt.sent {
				t.Errorf("sent to Charmhub: %v, want %v", sent, tt.sent)
			}
		})
	}
	if archs := hub.Revisions("my-charm", "my-file")[0].Bases[0].Architectures; !slices.Equal(archs, []string{"all"}) {
		t.Errorf("a refused request changed revision 1: %q", archs)
	}
}

func TestCompleteSetResourceArchitectures(t *testing.T) {
	got, directive := complete(t, nil, "set-resource-architectures", "my-charm", "my-file", "amd64,")
	if !slices.Contains(got, "amd64,arm64") || slices.Contains(got, "amd64,amd64") || directive != ":6" {
		t.Errorf("ARCHS completes to %q (%s)", got, directive)
	}
	if got, directive := complete(t, nil, "set-resource-architectures", ""); len(got) != 0 || directive != ":4" {
		t.Errorf("CHARM completes to %q (%s)", got, directive)
	}
}
