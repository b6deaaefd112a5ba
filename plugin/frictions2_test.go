package plugin

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/charmhub"
)

// The tests of issue 27's rows (round two of the first hour), in process
// through the root.

// TestVersion checks the version as docker and its plugins print theirs:
// a version command, and --version with docker's wording.
func TestVersion(t *testing.T) {
	res := run(t, nil, "version")
	if res.code != 0 || !strings.HasPrefix(res.stdout, "Docker Charmcraft version ") || !strings.Contains(res.stdout, "(go1.") {
		t.Errorf("version: %s", res)
	}
	res = run(t, nil, "--version")
	if res.code != 0 || !strings.HasPrefix(res.stdout, "Docker Charmcraft version ") {
		t.Errorf("--version: %s", res)
	}
	res = run(t, nil, "--help")
	if !strings.Contains(res.stdout, "Print version information and quit") || strings.Contains(res.stdout, "version for charmcraft") {
		t.Errorf("--help describes --version with cobra's default text: %s", res)
	}
}

// TestUploadHelpShort checks that upload-resource's help gets to its
// examples within a few lines, and fits a terminal.
func TestUploadHelpShort(t *testing.T) {
	res := run(t, nil, "upload-resource", "--help")
	lines := strings.Split(res.stdout, "\n")
	examples := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "Example") {
			examples = i
			break
		}
	}
	if res.code != 0 || examples < 0 || examples > 8 || len(lines) > 40 {
		t.Errorf("examples at line %d, %d lines in all; want them by line 8 and at most 40 lines:\n%s", examples+1, len(lines), res.stdout)
	}
}

// TestUploadSuggestsFlag checks that a third argument, the file or image
// the user meant for a flag, is answered with the flag to use.
func TestUploadSuggestsFlag(t *testing.T) {
	file := writeTestFile(t, "f20.bin", 3)
	tests := []struct{ arg, want string }{
		{file, "did you mean --filepath=" + file + "?"},
		{"70aa8983ec5c", "did you mean --image=70aa8983ec5c?"},
		{filepath.Join(t.TempDir(), "absent.bin"), "did you mean --filepath="},
	}
	for _, tt := range tests {
		res := run(t, nil, "upload-resource", "my-charm", "my-file", tt.arg)
		if res.code == 0 || !strings.Contains(res.stderr, tt.want) || !strings.Contains(res.stderr, "takes 2 arguments") {
			t.Errorf("%s: want %q; got %s", tt.arg, tt.want, res)
		}
	}
}

// TestUploadFilepathStdin checks that --filepath=- says standard input is
// not supported, and why, rather than "no such file".
func TestUploadFilepathStdin(t *testing.T) {
	res := run(t, nil, "upload-resource", "my-charm", "my-file", "--filepath=-")
	if res.code == 0 || !strings.Contains(res.stderr, "standard input) is not supported") || strings.Contains(res.stderr, "no such file") {
		t.Errorf("got %s", res)
	}
}

// TestCredentialAdvice checks that the advice on credentials leads with
// the plugin's own login, and that what it advises works where the
// credentials came from: while CHARMCRAFT_AUTH is set a login is refused,
// so the advice says to unset it.
func TestCredentialAdvice(t *testing.T) {
	u := newUserConfig(t)

	res := u.run(t, "", nil, "resources", "my-charm")
	own, other := strings.Index(res.stderr, "`docker charmcraft login`"), strings.Index(res.stderr, "charmcraft login --export")
	if res.code == 0 || own < 0 || other < own {
		t.Errorf("no credentials: want `docker charmcraft login` first; got %s", res)
	}

	// Expired credentials in CHARMCRAFT_AUTH: the advice is to unset it,
	// and once it is, the login it advises goes through.
	res = u.run(t, "", map[string]string{authEnv: exportToken(expiredToken)}, "whoami")
	if res.code == 0 || !strings.Contains(res.stderr, "unset it and run `docker charmcraft login`") {
		t.Errorf("expired CHARMCRAFT_AUTH: %s", res)
	}
	creds := writeTestFile(t, "creds", 0)
	if err := os.WriteFile(creds, []byte(exportToken(ownerToken)), 0o600); err != nil {
		t.Fatal(err)
	}
	if res = u.run(t, "", nil, "login", "--with-credentials", creds); res.code != 0 {
		t.Fatalf("with CHARMCRAFT_AUTH unset, the advised login failed: %s", res)
	}
	// Stored credentials that expire: the advice is a plain login, with
	// no variable to unset.
	u.hub.ExpireToken(ownerToken)
	res = u.run(t, "", nil, "whoami")
	if res.code == 0 || !strings.Contains(res.stderr, "\nLog in again with `docker charmcraft login`.") || strings.Contains(res.stderr, "unset") {
		t.Errorf("expired stored credentials: %s", res)
	}

	// JSON without a token: say how to get a good export, or to log in.
	res = u.run(t, "", map[string]string{authEnv: exportToken(`{"t": "macaroon"}`)}, "whoami")
	if res.code == 0 || !strings.Contains(res.stderr, "charmcraft login --export") || !strings.Contains(res.stderr, "`docker charmcraft login`") {
		t.Errorf("JSON without a token: %s", res)
	}
}

// TestJSONFailures checks that with --format=json every failure prints a
// JSON error on stdout (the sentence stays on stderr, the exit code
// stays), and that every JSON document is indented the same way.
func TestJSONFailures(t *testing.T) {
	hub := newHub(t)
	missing := filepath.Join(t.TempDir(), "absent.bin")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code string
	}{
		{"refused before any call", hubEnv(hub, ownerToken), []string{"upload-resource", "my-charm", "my-file", "--filepath", missing}, "error"},
		{"unknown charm", hubEnv(hub, ownerToken), []string{"resources", "nope"}, "error"},
		{"expired credentials", hubEnv(hub, expiredToken), []string{"resource-revisions", "my-charm", "my-file"}, "invalid-credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, tt.env, append(tt.args, "--format=json")...)
			var got struct {
				Errors []charmhub.ErrorItem `json:"errors"`
			}
			if err := json.Unmarshal([]byte(res.stdout), &got); err != nil || res.code != 1 || len(got.Errors) != 1 ||
				got.Errors[0].Code != tt.code || got.Errors[0].Message == "" || !strings.Contains(res.stderr, got.Errors[0].Message) {
				t.Fatalf("want {\"errors\": [{%q, the message on stderr}]} on stdout (%v); got %s", tt.code, err, res)
			}
			if !strings.HasPrefix(res.stdout, "{\n    \"errors\"") {
				t.Errorf("not indented as the listings are: %s", res.stdout)
			}
		})
	}

	// Success: an upload's result is indented as a listing is.
	path := writeTestFile(t, "data.bin", 10)
	res := uploadAsOwner(t, hub, path, "--format=json")
	if res.code != 0 || res.stdout != "{\n    \"revision\": 1\n}\n" {
		t.Errorf("upload: %s", res)
	}
	res = run(t, hubEnv(hub, ownerToken), "resources", "my-charm", "--format=json")
	if res.code != 0 || !strings.HasPrefix(res.stdout, "[\n    {\n        \"") {
		t.Errorf("listing: %s", res)
	}
}

// TestOneUnitSystem checks that a file's size reads the same in the
// progress line of its upload and in resource-revisions: Docker's units,
// which its progress bars use.
func TestOneUnitSystem(t *testing.T) {
	hub := newHub(t)
	path := writeTestFile(t, "data.bin", 876543)
	res := uploadAsOwner(t, hub, path, "--progress=plain")
	if res.code != 0 || !strings.Contains(res.stderr, "Uploading 876.5kB\n") {
		t.Fatalf("upload: %s", res)
	}
	res = run(t, hubEnv(hub, ownerToken), "resource-revisions", "my-charm", "my-file")
	if res.code != 0 || !strings.Contains(res.stdout, " 876.5kB ") {
		t.Errorf("resource-revisions: %s", res)
	}
}

// TestSetImageArchitecturesWarns checks that changing the architectures of
// an image revision is done, as charmcraft does it, with a warning that
// says how to undo it; a file revision gets none.
func TestSetImageArchitecturesWarns(t *testing.T) {
	hub := newHub(t)
	uploadImageRevision(t, hub, "sha256:"+strings.Repeat("3c", 32))
	res := run(t, hubEnv(hub, ownerToken), "set-resource-architectures", "my-charm", "my-image", "--revision=1", "arm64")
	want := "set-resource-architectures my-charm my-image --revision=1 amd64"
	if res.code != 0 || !strings.Contains(res.stderr, "Warning: revision 1 is an OCI image") || !strings.Contains(res.stderr, want) {
		t.Errorf("want the change made with a warning naming %q; got %s", want, res)
	}
	if got := hub.Revisions("my-charm", "my-image")[0].Bases[0].Architectures; strings.Join(got, ",") != "arm64" {
		t.Errorf("revision 1 is for %v, want arm64", got)
	}
	// Setting what the revision already has changes nothing: no warning.
	res = run(t, hubEnv(hub, ownerToken), "set-resource-architectures", "my-charm", "my-image", "--revision=1", "arm64")
	if res.code != 0 || strings.Contains(res.stderr, "Warning") {
		t.Errorf("setting the same architectures: %s", res)
	}
	uploadSized(t, hub, 10)
	res = run(t, hubEnv(hub, ownerToken), "set-resource-architectures", "my-charm", "my-file", "--revision=1", "arm64")
	if res.code != 0 || strings.Contains(res.stderr, "Warning") {
		t.Errorf("a file revision: %s", res)
	}
}

// TestCompleteCharmArgs checks that CHARM completes with the user's
// charms and RESOURCE with the charm's resources (of the type the flag
// given uploads), each from one request to Charmhub; --platform with
// docker's names; image IDs newest first.
func TestCompleteCharmArgs(t *testing.T) {
	hub := newHub(t)
	env := hubEnv(hub, collabToken) // bob collaborates on my-charm
	before := len(hub.Requests())
	got, directive := complete(t, env, "upload-resource", "")
	if !slices.Equal(got, []string{"my-charm"}) || directive != ":4" || len(hub.Requests()) != before+1 {
		t.Errorf("CHARM offers %q (%s) after %d requests, want my-charm after one", got, directive, len(hub.Requests())-before)
	}
	got, _ = complete(t, hubEnv(hub, ownerToken), "resources", "b")
	if !slices.Equal(got, []string{"bare-charm"}) {
		t.Errorf("resources b offers %q", got)
	}
	got, _ = complete(t, env, "resource-revisions", "my-charm", "")
	if !slices.Equal(got, []string{"my-file", "my-image"}) {
		t.Errorf("RESOURCE offers %q", got)
	}
	got, _ = complete(t, env, "upload-resource", "my-charm", "--image=70aa8983ec5c", "")
	if !slices.Equal(got, []string{"my-image"}) {
		t.Errorf("RESOURCE with --image offers %q, want the image resource alone", got)
	}
	got, _ = complete(t, env, "set-resource-architectures", "my-charm", "")
	if !slices.Equal(got, []string{"my-file", "my-image"}) {
		t.Errorf("set-resource-architectures RESOURCE offers %q", got)
	}
	// Without credentials: nothing, and no error.
	if got, directive = complete(t, hubEnv(hub, ""), "upload-resource", ""); len(got) != 0 || directive != ":4" {
		t.Errorf("without credentials CHARM offers %q (%s)", got, directive)
	}

	got, _ = complete(t, nil, "upload-resource", "my-charm", "my-image", "--platform=linux/amd64,linux/a")
	if !slices.Contains(got, "linux/amd64,linux/arm64") || slices.Contains(got, "linux/amd64,linux/amd64") {
		t.Errorf("--platform offers %q", got)
	}

	const old = "sha256:70aa8983ec5c1f2e3d4c5b6a79880123456789abcdef0123456789abcdef01"
	const recent = "sha256:52df5ce66513aabbccddeeff00112233445566778899aabbccddeeff00112233"
	d := newDaemonFake(t, fakeImage{id: old, created: 1000}, fakeImage{id: recent, created: 2000})
	got, _ = complete(t, map[string]string{"DOCKER_HOST": d.host()}, "upload-resource", "my-charm", "my-image", "--image", "")
	if !slices.Equal(got, []string{"52df5ce66513", "70aa8983ec5c"}) {
		t.Errorf("--image offers %q, want the newest first", got)
	}
}
