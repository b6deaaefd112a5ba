package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
)

func writeFile(t *testing.T, name string, size int) (string, []byte) {
	t.Helper()
	data := make([]byte, size)
	_, _ = rand.Read(data)
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, data
}

func TestUploadFile(t *testing.T) {
	w := newWorld(t)
	path, data := writeFile(t, "data.tar.gz", 3<<20)
	w.hub.SetReview(charmhubtest.ReviewConfig{ScanningPolls: 2})

	for i, token := range []string{ownerToken, collabToken} {
		res := dockerCmd(t, w.env(token), "charmcraft", "upload-resource", "my-charm", "my-file", "--filepath", path)
		want := "Revision " + string(rune('1'+i)) + " created of resource 'my-file' for charm 'my-charm'\n"
		if res.code != 0 || res.stdout != want {
			t.Fatalf("upload %d: want exactly %q on stdout; got %s", i+1, want, res)
		}
	}
	revs := w.hub.Revisions("my-charm", "my-file")
	if len(revs) != 2 {
		t.Fatalf("%d revisions stored, want 2", len(revs))
	}
	for _, rev := range revs {
		if rev.Type != "file" || !bytes.Equal(rev.Content, data) {
			t.Errorf("revision %d: type %q, %d bytes stored; want the file's %d bytes", rev.Revision, rev.Type, len(rev.Content), len(data))
		}
	}
}

func TestUploadFileCredentialForms(t *testing.T) {
	w := newWorld(t)
	path, _ := writeFile(t, "data.bin", 1000)
	cases := []struct {
		name string
		env  []string
	}{
		{"raw token", w.env("", "CHARMCRAFT_AUTH="+exportedAuth(ownerToken, false))},
		{"json export", w.env("", "CHARMCRAFT_AUTH="+exportedAuth(ownerToken, true))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := dockerCmd(t, c.env, "charmcraft", "upload-resource", "my-charm", "my-file", "--filepath", path)
			if res.code != 0 || !strings.Contains(res.stdout, "created of resource 'my-file'") {
				t.Fatalf("got %s", res)
			}
		})
	}
}

// TestUploadFileCredentialStore keeps the macaroon in the docker config's
// credential store (config.json here), as `docker charmcraft login` would.
func TestUploadFileCredentialStore(t *testing.T) {
	w := newWorld(t)
	path, _ := writeFile(t, "data.bin", 1000)
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(configDir, "cli-plugins"), filepath.Join(dir, "cli-plugins")); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(strings.TrimPrefix(w.hub.APIURL(), "http://"), "https://")
	host, _, _ = strings.Cut(host, "/")
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{
		"auth": base64Std("charmcraft:" + ownerToken),
	}}})
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	res := execCmd(t, "docker", w.env(""), "--config", dir, "charmcraft", "upload-resource", "my-charm", "my-file", "--filepath", path)
	if res.code != 0 || !strings.Contains(res.stdout, "Revision 1 created") {
		t.Fatalf("with credentials in config.json: %s", res)
	}
	// CHARMCRAFT_AUTH wins over the store.
	res = execCmd(t, "docker", w.env(strangerToken), "--config", dir, "charmcraft", "upload-resource", "my-charm", "my-file", "--filepath", path)
	if res.code == 0 || !strings.Contains(res.stderr, "only the owner or a collaborator") {
		t.Fatalf("CHARMCRAFT_AUTH did not win over the credential store: %s", res)
	}
}

func TestUploadFileJSON(t *testing.T) {
	w := newWorld(t)
	path, _ := writeFile(t, "data.bin", 1000)
	res := dockerCmd(t, w.env(ownerToken), "charmcraft", "upload-resource", "my-charm", "my-file", "--filepath", path, "--format", "json")
	var got map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil || res.code != 0 {
		t.Fatalf("stdout is not one JSON document (%v): %s", err, res)
	}
	if len(got) != 1 || got["revision"] != float64(1) {
		t.Errorf("stdout = %v, want {\"revision\": 1}", got)
	}

	w.hub.SetReview(charmhubtest.ReviewConfig{Reject: []charmhubtest.ErrorItem{{Code: "bad-content", Message: "not a tarball"}}})
	res = dockerCmd(t, w.env(ownerToken), "charmcraft", "upload-resource", "my-charm", "my-file", "--filepath", path, "--format", "json")
	var rej struct {
		Errors []struct{ Code, Message string } `json:"errors"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &rej); err != nil || res.code != 1 {
		t.Fatalf("rejected: want exit 1 and JSON on stdout (%v): %s", err, res)
	}
	if len(rej.Errors) != 1 || rej.Errors[0].Code != "bad-content" || rej.Errors[0].Message != "not a tarball" {
		t.Errorf("errors = %+v", rej.Errors)
	}
}

func TestUploadFileRefused(t *testing.T) {
	path, _ := writeFile(t, "data.bin", 1000)
	tests := []struct {
		name     string
		token    string
		charm    string
		resource string
		review   *charmhubtest.ReviewConfig
		fault    *charmhubtest.Fault
		stderr   []string
	}{
		{name: "rejected", token: ownerToken, charm: "my-charm", resource: "my-file",
			review: &charmhubtest.ReviewConfig{ScanningPolls: 1, Reject: []charmhubtest.ErrorItem{{Code: "bad-content", Message: "not a tarball"}, {Code: "too-big", Message: "too big"}}},
			stderr: []string{"Upload failed with status 'rejected':\n- bad-content: not a tarball\n- too-big: too big"}},
		{name: "timeout", token: ownerToken, charm: "my-charm", resource: "my-file",
			review: &charmhubtest.ReviewConfig{Never: true},
			stderr: []string{"Timeout polling Charmhub for upload status"}},
		{name: "invalid credentials", token: "nobody-knows-me", charm: "my-charm", resource: "my-file",
			stderr: []string{"did not accept the credentials", "invalid-credentials"}},
		{name: "expired credentials", token: expiredToken, charm: "my-charm", resource: "my-file",
			stderr: []string{"did not accept the credentials", "macaroon-needs-refresh"}},
		{name: "no credentials", token: "", charm: "my-charm", resource: "my-file",
			stderr: []string{"no Charmhub credentials found", "CHARMCRAFT_AUTH"}},
		{name: "stranger", token: strangerToken, charm: "my-charm", resource: "my-file",
			stderr: []string{"only the owner or a collaborator of charm 'my-charm'", "permission-required"}},
		{name: "unknown charm", token: ownerToken, charm: "no-such-charm", resource: "my-file",
			stderr: []string{"'no-such-charm'", "not found"}},
		{name: "unknown resource", token: ownerToken, charm: "my-charm", resource: "nope",
			stderr: []string{"charm 'my-charm' has no resource 'nope'", "'my-file'", "'my-image'"}},
		{name: "charm without resources", token: ownerToken, charm: "bare-charm", resource: "nope",
			stderr: []string{"declares no resources"}},
		{name: "wrong type", token: ownerToken, charm: "my-charm", resource: "my-image",
			stderr: []string{"OCI image resource", "--image"}},
		{name: "storage says unsuccessful", token: ownerToken, charm: "my-charm", resource: "my-file",
			fault:  &charmhubtest.Fault{Path: "/storage/unscanned-upload/", Status: 200, Times: 10, Body: `{"successful": false}`},
			stderr: []string{"upload"}},
		{name: "server keeps failing", token: ownerToken, charm: "my-charm", resource: "my-file",
			fault:  &charmhubtest.Fault{Path: "/api/v1/charm/*/resources", Status: 503, Times: 100},
			stderr: []string{"503"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			if tt.review != nil {
				w.hub.SetReview(*tt.review)
			}
			if tt.fault != nil {
				w.hub.Fail(*tt.fault)
			}
			res := dockerCmd(t, w.env(tt.token), "charmcraft", "upload-resource", tt.charm, tt.resource, "--filepath", path)
			if res.code != 1 {
				t.Errorf("exit %d, want 1", res.code)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(res.stderr, s) {
					t.Errorf("stderr lacks %q", s)
				}
			}
			if res.stdout != "" {
				t.Errorf("stdout should be empty")
			}
			for _, secret := range []string{tt.token, exportedAuth(tt.token, false)} {
				if secret != "" && strings.Contains(res.stdout+res.stderr, secret) {
					t.Errorf("output shows the credentials")
				}
			}
			if strings.Contains(res.stderr, "goroutine ") || strings.Contains(res.stderr, "http://") {
				t.Errorf("output shows a stack trace or a URL")
			}
			if n := len(w.hub.Revisions(tt.charm, tt.resource)); n != 0 {
				t.Errorf("%d revisions created, want none", n)
			}
			if t.Failed() {
				t.Logf("%s", res)
			}
		})
	}
}

// TestRetryTemporaryFailure makes Charmhub fail twice with 503: the
// idempotent listing is retried and the upload goes through.
func TestRetryTemporaryFailure(t *testing.T) {
	w := newWorld(t)
	path, _ := writeFile(t, "data.bin", 1000)
	w.hub.Fail(charmhubtest.Fault{Path: "/api/v1/charm/*/resources", Status: 503, Times: 2})
	w.hub.Fail(charmhubtest.Fault{Path: "/storage/unscanned-upload/", Status: 502, Times: 1})
	res := dockerCmd(t, w.env(ownerToken), "charmcraft", "upload-resource", "my-charm", "my-file", "--filepath", path)
	if res.code != 0 || !strings.Contains(res.stdout, "Revision 1 created") {
		t.Fatalf("got %s", res)
	}
	if n := w.hub.Count("POST", "/api/v1/charm/*/resources/*/revisions"); n != 1 {
		t.Errorf("%d revision requests, want exactly 1", n)
	}
}

func TestDebugRedactsSecrets(t *testing.T) {
	w := newWorld(t)
	path, _ := writeFile(t, "data.bin", 1000)
	res := dockerCmd(t, w.env(ownerToken), "charmcraft", "upload-resource", "my-charm", "my-file", "--filepath", path, "--debug")
	if res.code != 0 || !strings.Contains(res.stderr, "unscanned-upload") {
		t.Fatalf("--debug should log the requests: %s", res)
	}
	for _, secret := range []string{ownerToken, exportedAuth(ownerToken, false)} {
		if strings.Contains(res.stdout+res.stderr, secret) {
			t.Fatalf("--debug output contains the credentials:\n%s", res.stderr)
		}
	}
}

// TestUnreachableService: a service nobody answers for gives an error that
// says what to check, whichever service it is.
func TestUnreachableService(t *testing.T) {
	w := newWorld(t)
	path, _ := writeFile(t, "data.bin", 10)
	for _, tt := range []struct {
		name string
		env  string
		args []string
	}{
		{"charmhub", "CHARMCRAFT_STORE_API_URL=http://127.0.0.1:1", []string{"my-file", "--filepath", path}},
		{"storage", "CHARMCRAFT_UPLOAD_URL=http://127.0.0.1:1", []string{"my-file", "--filepath", path}},
		{"registry", "CHARMCRAFT_REGISTRY_URL=http://127.0.0.1:1", []string{"my-image", "--image", "sha256:" + strings.Repeat("ab", 32)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"charmcraft", "upload-resource", "my-charm"}, tt.args...)
			res := dockerCmd(t, w.env(ownerToken, tt.env), args...)
			if res.code != 1 || !strings.Contains(res.stderr, "connection refused") || !strings.Contains(res.stderr, "check the network connection") {
				t.Errorf("want a refused connection and what to check; got %s", res)
			}
		})
	}
}
