package plugin

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
	"github.com/canonical/docker-charmcraft/internal/transport"
)

// upload-resource --filepath in process: the credential forms, JSON
// output, every refusal, retries and what --debug shows. e2e/ uploads
// through the docker CLI.

func TestUploadFileCredentialForms(t *testing.T) {
	hub := newHub(t)
	path := writeTestFile(t, "data.bin", 1000)
	cases := []struct {
		name string
		auth string
	}{
		{"raw token", exportToken(ownerToken)},
		{"json export", exportJSON(ownerToken)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := hubEnv(hub, "")
			env[authEnv] = c.auth
			res := run(t, env, "upload-resource", "my-charm", "my-file", "--filepath", path)
			if res.code != 0 || !strings.Contains(res.stdout, "created of resource 'my-file'") {
				t.Fatalf("got %s", res)
			}
		})
	}
}

func TestUploadFileJSON(t *testing.T) {
	hub := newHub(t)
	path := writeTestFile(t, "data.bin", 1000)
	res := uploadAsOwner(t, hub, path, "--format", "json")
	var got map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil || res.code != 0 {
		t.Fatalf("stdout is not one JSON document (%v): %s", err, res)
	}
	if len(got) != 1 || got["revision"] != float64(1) {
		t.Errorf("stdout = %v, want {\"revision\": 1}", got)
	}

	hub.SetReview(charmhubtest.ReviewConfig{Reject: []charmhubtest.ErrorItem{{Code: "bad-content", Message: "not a tarball"}}})
	res = uploadAsOwner(t, hub, path, "--format", "json")
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
	path := writeTestFile(t, "data.bin", 1000)
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
			stderr: []string{"Waiting for Charmhub's review of the upload (up to 3s, CHARMCRAFT_REVIEW_TIMEOUT)\n", "Timeout polling Charmhub for upload status"}},
		{name: "approved without a revision", token: ownerToken, charm: "my-charm", resource: "my-file",
			review: &charmhubtest.ReviewConfig{NoRevision: true},
			stderr: []string{"Charmhub approved the upload to resource 'my-file' of charm 'my-charm' but gave no revision number (\"revision\": null)", "resource-revisions my-charm my-file"}},
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
			stderr: []string{"resource 'my-image' of charm 'my-charm' is an OCI image resource: upload it with --image, not --filepath"}},
		{name: "storage says unsuccessful", token: ownerToken, charm: "my-charm", resource: "my-file",
			fault:  &charmhubtest.Fault{Path: "/storage/unscanned-upload/", Status: 200, Times: 10, Body: `{"successful": false}`},
			stderr: []string{"upload"}},
		{name: "server keeps failing", token: ownerToken, charm: "my-charm", resource: "my-file",
			fault:  &charmhubtest.Fault{Path: "/api/v1/charm/*/resources", Status: 503, Times: 100},
			stderr: []string{"503"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hub := newHub(t)
			if tt.review != nil {
				hub.SetReview(*tt.review)
			}
			if tt.fault != nil {
				hub.Fail(*tt.fault)
			}
			res := run(t, hubEnv(hub, tt.token), "upload-resource", tt.charm, tt.resource, "--filepath", path)
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
			for _, secret := range []string{tt.token, exportToken(tt.token)} {
				if secret != "" && strings.Contains(res.stdout+res.stderr, secret) {
					t.Errorf("output shows the credentials")
				}
			}
			if strings.Contains(res.stderr, "goroutine ") || strings.Contains(res.stderr, "http://") {
				t.Errorf("output shows a stack trace or a URL")
			}
			if n := len(hub.Revisions(tt.charm, tt.resource)); n != 0 {
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
	hub := newHub(t)
	path := writeTestFile(t, "data.bin", 1000)
	hub.Fail(charmhubtest.Fault{Path: "/api/v1/charm/*/resources", Status: 503, Times: 2})
	hub.Fail(charmhubtest.Fault{Path: "/storage/unscanned-upload/", Status: 502, Times: 1})
	res := uploadAsOwner(t, hub, path)
	if res.code != 0 || !strings.Contains(res.stdout, "Revision 1 created") {
		t.Fatalf("got %s", res)
	}
	if n := hub.Count("POST", "/api/v1/charm/*/resources/*/revisions"); n != 1 {
		t.Errorf("%d revision requests, want exactly 1", n)
	}
}

func TestDebugRedactsSecrets(t *testing.T) {
	hub := newHub(t)
	path := writeTestFile(t, "data.bin", 1000)
	res := uploadAsOwner(t, hub, path, "--debug")
	if res.code != 0 || !strings.Contains(res.stderr, "unscanned-upload") {
		t.Fatalf("--debug should log the requests: %s", res)
	}
	for _, secret := range []string{ownerToken, exportToken(ownerToken)} {
		if strings.Contains(res.stdout+res.stderr, secret) {
			t.Fatalf("--debug output contains the credentials:\n%s", res.stderr)
		}
	}
}

// TestUnreachableService: a service that refuses the first connection is
// tried again only for the first-contact grace, and the error says which
// service, what was being done, and what to check, in words; --debug
// keeps Go's.
func TestUnreachableService(t *testing.T) {
	hub := newHub(t)
	path := writeTestFile(t, "data.bin", 10)
	for _, tt := range []struct {
		name, env, service string
		args               []string
	}{
		{"charmhub", apiURLEnv, "Charmhub", []string{"my-file", "--filepath", path}},
		{"storage", uploadURLEnv, "Charmhub's storage", []string{"my-file", "--filepath", path}},
		{"registry", registryURLEnv, "Canonical's registry", []string{"my-image", "--image", "sha256:" + strings.Repeat("ab", 32)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := hubEnv(hub, ownerToken)
			env[tt.env] = "http://127.0.0.1:1"
			env[retryTimeoutEnv] = transport.DefaultBudget.String() // not shorter than the grace, which it would bound
			start := time.Now()
			res := run(t, env, append([]string{"upload-resource", "my-charm"}, tt.args...)...)
			took := time.Since(start)
			want := []string{
				tt.service + " refused the connection; trying again for up to 5s\n",
				tt.service + " refused the connection while ",
				"Check that the service runs at the address given (" + tt.env + "=http://127.0.0.1:1).",
			}
			for _, w := range want {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("stderr lacks %q", w)
				}
			}
			if res.code != 1 || strings.Contains(res.stderr, "dial tcp") || strings.Contains(res.stderr, "attempts") {
				t.Errorf("want exit 1 and no Go wording")
			}
			if took > transport.DefaultGrace+3*time.Second {
				t.Errorf("ended after %s, want within the grace of %s", took, transport.DefaultGrace)
			}
			if t.Failed() {
				t.Logf("%s", res)
			}
			if tt.name != "charmhub" {
				return
			}
			res = run(t, env, append([]string{"upload-resource", "my-charm", "--debug"}, tt.args...)...)
			if !strings.Contains(res.stderr, "connect: connection refused") {
				t.Errorf("--debug: want Go's words; got %s", res)
			}
		})
	}
}

// TestProgressFile checks what --progress draws on stderr for a file,
// with only the result on stdout.
func TestProgressFile(t *testing.T) {
	hub := newHub(t)
	path := writeTestFile(t, "data.bin", 3<<20)
	tests := []struct {
		name     string
		progress []string
		check    func(t *testing.T, stderr string)
	}{
		{name: "auto off a terminal is plain", progress: nil, check: plain},
		{name: "plain", progress: []string{"--progress", "plain"}, check: plain},
		{name: "tty", progress: []string{"--progress=tty"}, check: func(t *testing.T, stderr string) {
			if !strings.Contains(stderr, "\r\x1b[2Kdata.bin: Uploading [") || !strings.Contains(stderr, "/3.146MB") {
				t.Errorf("no bar redrawn in place: %q", stderr)
			}
			if !strings.HasSuffix(stderr, "\r\x1b[2Kdata.bin: Uploaded\n") {
				t.Errorf("the bar does not end with Uploaded: %q", stderr)
			}
		}},
		{name: "quiet", progress: []string{"--progress", "quiet"}, check: func(t *testing.T, stderr string) {
			if stderr != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"upload-resource", "my-charm", "my-file", "--filepath", path}, tt.progress...)
			res := run(t, hubEnv(hub, ownerToken), args...)
			if res.code != 0 || !strings.HasPrefix(res.stdout, "Revision ") || strings.Count(res.stdout, "\n") != 1 {
				t.Fatalf("want only the result on stdout: %s", res)
			}
			tt.check(t, res.stderr)
		})
	}
}

// plain is one line per change of state, and nothing drawn in place.
func plain(t *testing.T, stderr string) {
	t.Helper()
	if stderr != "data.bin: Uploading 3.146MB\ndata.bin: Uploaded\n" {
		t.Errorf("stderr = %q, want one line per change", stderr)
	}
}
