package plugin

import (
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
)

// The listings, in process: what resources and resource-revisions print,
// as text and as JSON, and their refusals.

// uploadSized uploads a file of size bytes as a revision of my-file.
func uploadSized(t *testing.T, hub *charmhubtest.Server, size int, extra ...string) {
	t.Helper()
	path := writeTestFile(t, "data.bin", size)
	args := append([]string{"upload-resource", "my-charm", "my-file", "--filepath", path, "-q"}, extra...)
	if res := run(t, hubEnv(hub, ownerToken), args...); res.code != 0 {
		t.Fatalf("upload: %s", res)
	}
}

func TestResources(t *testing.T) {
	hub := newHub(t)
	res := run(t, hubEnv(hub, ownerToken), "resources", "my-charm")
	want := "" +
		"Charm Rev   Resource   Type        Optional\n" +
		"-           my-file    file        False\n" +
		"            my-image   oci-image   False\n"
	if res.code != 0 || res.stdout != want {
		t.Fatalf("before any upload, want\n%s\ngot %s", want, res)
	}

	uploadSized(t, hub, 10)
	uploadSized(t, hub, 10)
	res = run(t, hubEnv(hub, collabToken), "resources", "my-charm")
	want = "" +
		"Charm Rev   Resource   Type        Optional\n" +
		"2           my-file    file        False\n" +
		"-           my-image   oci-image   False\n"
	if res.code != 0 || res.stdout != want || res.stderr != "" {
		t.Fatalf("want exactly\n%s\ngot %s", want, res)
	}

	res = run(t, hubEnv(hub, ownerToken), "resources", "my-charm", "--format", "json")
	var items []map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &items); err != nil || res.code != 0 {
		t.Fatalf("--format json (%v): %s", err, res)
	}
	wantJSON := []map[string]any{
		{"charm_revision": float64(2), "name": "my-file", "type": "file", "optional": false},
		{"charm_revision": nil, "name": "my-image", "type": "oci-image", "optional": false},
	}
	if len(items) != 2 || !sameJSON(items[0], wantJSON[0]) || !sameJSON(items[1], wantJSON[1]) {
		t.Errorf("json = %v, want %v", items, wantJSON)
	}
	// The keys come in charmcraft's order.
	if i, j := strings.Index(res.stdout, `"charm_revision"`), strings.Index(res.stdout, `"optional"`); i < 0 || j < i {
		t.Errorf("keys out of charmcraft's order:\n%s", res.stdout)
	}
}

func TestResourcesEmpty(t *testing.T) {
	hub := newHub(t)
	res := run(t, hubEnv(hub, ownerToken), "resources", "bare-charm")
	if res.code != 0 || res.stdout != "No resources associated to bare-charm.\n" {
		t.Fatalf("got %s", res)
	}
	res = run(t, hubEnv(hub, ownerToken), "resources", "bare-charm", "--format=json")
	if res.code != 0 || strings.TrimSpace(res.stdout) != "[]" {
		t.Fatalf("json: got %s", res)
	}
}

func TestResourceRevisions(t *testing.T) {
	hub := newHub(t)
	// charmcraft's own examples, in Docker's units as the progress shows them.
	for _, size := range []int{5000, 34450520, 876543, 50} {
		uploadSized(t, hub, size)
	}
	uploadSized(t, hub, 1, "--arch", "arm64,amd64")
	res := run(t, hubEnv(hub, ownerToken), "resource-revisions", "my-charm", "my-file")
	if res.code != 0 || res.stderr != "" {
		t.Fatalf("got %s", res)
	}
	date := `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`
	want := []string{
		`Revision   Created at                Size   Architectures`,
		`5          ` + date + `        1B   amd64,arm64`,
		`4          ` + date + `       50B   all`,
		`3          ` + date + `   876\.5kB   all`,
		`2          ` + date + `   34\.45MB   all`,
		`1          ` + date + `       5kB   all`,
	}
	if !regexp.MustCompile(`^` + strings.Join(want, `\n`) + `\n$`).MatchString(res.stdout) {
		t.Errorf("want lines matching\n%s\ngot\n%s", strings.Join(want, "\n"), res.stdout)
	}

	res = run(t, hubEnv(hub, ownerToken), "resource-revisions", "my-charm", "my-file", "--format", "json")
	var items []struct {
		Revision  int    `json:"revision"`
		CreatedAt string `json:"created at"`
		Size      int64  `json:"size"`
		Bases     []struct {
			Name, Channel string
			Architectures []string
		} `json:"bases"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &items); err != nil || res.code != 0 || len(items) != 5 {
		t.Fatalf("--format json (%v): %s", err, res)
	}
	first := items[0]
	if first.Revision != 5 || first.Size != 1 || len(first.Bases) != 1 || strings.Join(first.Bases[0].Architectures, ",") != "arm64,amd64" {
		t.Errorf("newest revision = %+v", first)
	}
	if _, err := time.Parse(time.RFC3339, first.CreatedAt); err != nil || !strings.HasSuffix(first.CreatedAt, "+00:00") {
		t.Errorf("created at %q is not an ISO date in UTC (%v)", first.CreatedAt, err)
	}
}

func TestResourceRevisionsEmpty(t *testing.T) {
	hub := newHub(t)
	res := run(t, hubEnv(hub, ownerToken), "resource-revisions", "my-charm", "my-image")
	if res.code != 0 || res.stdout != "No revisions found.\n" {
		t.Fatalf("got %s", res)
	}
	res = run(t, hubEnv(hub, ownerToken), "resource-revisions", "my-charm", "my-image", "--format", "json")
	if res.code != 0 || strings.TrimSpace(res.stdout) != "[]" {
		t.Fatalf("json: got %s", res)
	}
}

func TestListingRefused(t *testing.T) {
	hub := newHub(t)
	tests := []struct {
		name   string
		token  string
		args   []string
		stderr []string
	}{
		{name: "unknown charm", token: ownerToken, args: []string{"resources", "nope"}, stderr: []string{"charm 'nope' was not found"}},
		{name: "unknown resource", token: ownerToken, args: []string{"resource-revisions", "my-charm", "nope"}, stderr: []string{"'nope'", "not found"}},
		{name: "stranger", token: strangerToken, args: []string{"resources", "my-charm"}, stderr: []string{"only the owner or a collaborator of charm 'my-charm'", "permission-required"}},
		{name: "expired", token: expiredToken, args: []string{"resource-revisions", "my-charm", "my-file"}, stderr: []string{"did not accept the credentials", "macaroon-needs-refresh"}},
		{name: "no credentials", args: []string{"resources", "my-charm"}, stderr: []string{"no Charmhub credentials found"}},
		{name: "bad format", token: ownerToken, args: []string{"resources", "my-charm", "--format", "yaml"}, stderr: []string{`--format "yaml" is not supported`}},
		{name: "missing argument", token: ownerToken, args: []string{"resource-revisions", "my-charm"}, stderr: []string{"takes 2 arguments"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, hubEnv(hub, tt.token), tt.args...)
			if res.code != 1 || res.stdout != "" {
				t.Errorf("want exit 1 and nothing on stdout")
			}
			for _, s := range tt.stderr {
				if !strings.Contains(res.stderr, s) {
					t.Errorf("stderr lacks %q", s)
				}
			}
			if tt.token != "" && strings.Contains(res.stderr, tt.token) {
				t.Errorf("stderr shows the token")
			}
			if t.Failed() {
				t.Logf("%s", res)
			}
		})
	}
}

func sameJSON(a, b map[string]any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// uploadImageRevision makes a revision of my-image naming the amd64 image
// d, as an upload from the daemon ends, without a registry: the blob Charmhub
// answers for d, uploaded as the revision's content.
func uploadImageRevision(t *testing.T, hub *charmhubtest.Server, d string) {
	t.Helper()
	ch, err := charmhub.New(charmhub.WithAPIURL(hub.APIURL()), charmhub.WithStorageURL(hub.StorageURL()), charmhub.WithToken(ownerToken))
	if err != nil {
		t.Fatal(err)
	}
	blob, err := ch.ImageBlob(t.Context(), "my-charm", "my-image", d)
	if err != nil {
		t.Fatal(err)
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(blob)), nil }
	id, err := ch.Upload(t.Context(), "my-image", int64(len(blob)), open, nil)
	if err != nil {
		t.Fatal(err)
	}
	statusURL, err := ch.CreateRevision(t.Context(), "my-charm", "my-image", charmhub.RevisionRequest{UploadID: id, Type: charmhub.TypeOCIImage, Bases: basesFor([]string{"amd64"})})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := ch.WaitForRevision(t.Context(), statusURL); err != nil || st.Status != charmhub.StatusApproved {
		t.Fatalf("review: %v %+v", err, st)
	}
}

// TestResourceRevisionsImage checks that an image's revisions show the
// digest of their image, read from the blob Charmhub stores, and no size
// (Charmhub's is that of the blob), in the table and in JSON.
func TestResourceRevisionsImage(t *testing.T) {
	hub := newHub(t)
	d1, d2 := "sha256:"+strings.Repeat("1a", 32), "sha256:"+strings.Repeat("2b", 32)
	uploadImageRevision(t, hub, d1)
	uploadImageRevision(t, hub, d2)

	res := run(t, hubEnv(hub, ownerToken), "resource-revisions", "my-charm", "my-image")
	date := `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`
	want := []string{
		`Revision +Created at +Size +Digest +Architectures`,
		`2 +` + date + ` +- +` + d2 + ` +amd64`,
		`1 +` + date + ` +- +` + d1 + ` +amd64`,
	}
	if res.code != 0 || res.stderr != "" || !regexp.MustCompile(`^`+strings.Join(want, `\n`)+`\n$`).MatchString(res.stdout) {
		t.Errorf("want lines matching\n%s\ngot %s", strings.Join(want, "\n"), res)
	}

	res = run(t, hubEnv(hub, ownerToken), "resource-revisions", "my-charm", "my-image", "--format", "json")
	var items []map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &items); err != nil || res.code != 0 || len(items) != 2 {
		t.Fatalf("--format json (%v): %s", err, res)
	}
	if items[0]["digest"] != d2 || items[1]["digest"] != d1 || items[0]["size"] != nil {
		t.Errorf("json = %v, want digests %s, %s and null sizes", items, d2, d1)
	}

	// A file's revisions keep their size and have no digest.
	uploadSized(t, hub, 10)
	res = run(t, hubEnv(hub, ownerToken), "resource-revisions", "my-charm", "my-file", "--format", "json")
	if !strings.Contains(res.stdout, `"size": 10`) || strings.Contains(res.stdout, "digest") {
		t.Errorf("file revisions: %s", res)
	}
}
