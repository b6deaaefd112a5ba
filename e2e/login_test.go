package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/testutil"
)

// SSO accounts of the login tests.
const (
	aliceEmail    = "alice@example.com"
	alicePassword = "correct horse battery staple"
	bobEmail      = "bob@example.com"
	bobPassword   = "hunter2-hunter2"
	bobOTP        = "424242"
)

// userConfig is a docker config directory of its own, with the plugin,
// so that what login stores is seen by this test only.
type userConfig struct {
	dir string
	w   *world
}

func newUserConfig(t *testing.T, w *world) *userConfig {
	t.Helper()
	w.hub.AddSSOAccount(aliceEmail, alicePassword, "", "alice")
	w.hub.AddSSOAccount(bobEmail, bobPassword, bobOTP, "bob")
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(configDir, "cli-plugins"), filepath.Join(dir, "cli-plugins")); err != nil {
		t.Fatal(err)
	}
	return &userConfig{dir: dir, w: w}
}

// run runs `docker --config <dir> charmcraft args...` with stdin, pointed
// at the world without CHARMCRAFT_AUTH (unless extra sets it).
func (u *userConfig) run(t *testing.T, stdin string, extra []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", append([]string{"--config", u.dir, "charmcraft"}, args...)...)
	cmd.Env = append(baseEnv(), u.w.env("", append([]string{"CHARMCRAFT_STORE_SSO_URL=" + u.w.hub.SSOURL()}, extra...)...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return res
}

// stored is what config.json holds for the Charmhub API host: the
// username and the macaroon ("" when nothing is stored).
func (u *userConfig) stored(t *testing.T) (username, macaroon string) {
	t.Helper()
	cfg, err := testutil.ReadDockerConfig(u.dir)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Stored(apiHostOf(u.w))
}

func apiHostOf(w *world) string {
	host := strings.TrimPrefix(w.hub.APIURL(), "http://")
	host, _, _ = strings.Cut(host, "/")
	return host
}

// noSecrets fails if the output shows any of the secrets.
func noSecrets(t *testing.T, res result, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(res.stdout+res.stderr, s) {
			t.Errorf("the output shows a secret (%.4s...):\n%s", s, res)
		}
	}
}

func TestLoginInteractiveThenUseThenLogout(t *testing.T) {
	w := newWorld(t)
	u := newUserConfig(t, w)
	path, _ := writeFile(t, "data.bin", 1000)

	res := u.run(t, aliceEmail+"\n"+alicePassword+"\n", nil, "login")
	host := apiHostOf(w)
	if res.code != 0 || res.stdout != "Logged in to "+host+" as 'alice'\nLogin Succeeded\n" {
		t.Fatalf("login: %s", res)
	}
	if !strings.Contains(res.stderr, "Email address: ") || !strings.Contains(res.stderr, "Password: ") {
		t.Errorf("the prompts are not on stderr: %s", res)
	}
	user, macaroon := u.stored(t)
	if user != "alice" || macaroon == "" {
		t.Fatalf("config.json holds user %q and a macaroon of %d bytes; want alice's", user, len(macaroon))
	}
	noSecrets(t, res, alicePassword, macaroon)
	if got := w.hub.LoginClients(); len(got) != 1 || !strings.HasPrefix(got[0], "docker-charmcraft@") {
		t.Errorf("client description %q, want docker-charmcraft@<host>", got)
	}

	// The stored credentials are used by the other commands.
	res = u.run(t, "", nil, "upload-resource", "my-charm", "my-file", "--filepath", path)
	if res.code != 0 || res.stdout != "Revision 1 created of resource 'my-file' for charm 'my-charm'\n" {
		t.Fatalf("upload with the stored credentials: %s", res)
	}
	res = u.run(t, "", nil, "whoami")
	if res.code != 0 || !strings.Contains(res.stdout, "username: alice\n") || !strings.Contains(res.stdout, "permissions:\n- account-register-package\n") {
		t.Fatalf("whoami: %s", res)
	}
	noSecrets(t, res, macaroon)

	res = u.run(t, "", nil, "logout")
	if res.code != 0 || res.stdout != "Removing login credentials for "+host+"\n" {
		t.Fatalf("logout: %s", res)
	}
	if user, macaroon := u.stored(t); user != "" || macaroon != "" {
		t.Fatalf("logout left credentials for %q in config.json", user)
	}
	res = u.run(t, "", nil, "logout")
	if res.code != 0 || res.stdout != "Not logged in to "+host+"\n" {
		t.Errorf("second logout: %s", res)
	}
	res = u.run(t, "", nil, "whoami")
	if res.code != 0 || res.stdout != "You are not logged in to Charmhub.\n" {
		t.Errorf("whoami after logout: %s", res)
	}
	res = u.run(t, "", nil, "whoami", "--format", "json")
	if res.code != 0 || strings.Join(strings.Fields(res.stdout), "") != `{"logged":false}` {
		t.Errorf("whoami json after logout: %s", res)
	}
	res = u.run(t, "", nil, "upload-resource", "my-charm", "my-file", "--filepath", path)
	if res.code != 1 || !strings.Contains(res.stderr, "no Charmhub credentials found") {
		t.Errorf("upload after logout: %s", res)
	}
}

func TestLoginTwoFactor(t *testing.T) {
	w := newWorld(t)
	u := newUserConfig(t, w)
	res := u.run(t, bobEmail+"\n"+bobPassword+"\n"+bobOTP+"\n", nil, "login")
	if res.code != 0 || !strings.Contains(res.stdout, "as 'bob'") || !strings.Contains(res.stderr, "One-time password: ") {
		t.Fatalf("login with a one-time password: %s", res)
	}
	user, macaroon := u.stored(t)
	if user != "bob" {
		t.Fatalf("stored user %q, want bob", user)
	}
	noSecrets(t, res, bobPassword, macaroon)
	res = u.run(t, "", nil, "whoami", "--format", "json")
	var who struct {
		Logged   bool
		Username string
		Name     string
		ID       string
	}
	if err := json.Unmarshal([]byte(res.stdout), &who); err != nil || !who.Logged || who.Username != "bob" || who.ID == "" || who.Name == "" {
		t.Errorf("whoami json (%v): %s", err, res)
	}
}

func TestLoginRefused(t *testing.T) {
	tests := []struct {
		name   string
		stdin  string
		stderr string
	}{
		{name: "wrong password", stdin: aliceEmail + "\nwrong\n", stderr: "did not accept the email address and password"},
		{name: "unknown email", stdin: "nobody@example.com\n" + alicePassword + "\n", stderr: "did not accept the email address and password"},
		{name: "wrong one-time password", stdin: bobEmail + "\n" + bobPassword + "\n000000\n", stderr: "did not accept the one-time password"},
		{name: "one-time password not given", stdin: bobEmail + "\n" + bobPassword + "\n", stderr: "standard input ended"},
		{name: "no password", stdin: aliceEmail + "\n\n", stderr: "a password is required"},
		{name: "nothing", stdin: "", stderr: "standard input ended"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			u := newUserConfig(t, w)
			res := u.run(t, tt.stdin, nil, "login")
			if res.code != 1 || !strings.Contains(res.stderr, tt.stderr) || strings.Contains(res.stdout, "Succeeded") {
				t.Fatalf("want exit 1 and %q; got %s", tt.stderr, res)
			}
			if user, _ := u.stored(t); user != "" {
				t.Errorf("credentials stored for %q after a failed login", user)
			}
			noSecrets(t, res, alicePassword, bobPassword, "wrong\n")
		})
	}
}

func TestLoginWithCredentials(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	raw := file("raw", exportedAuth(ownerToken, false)+"\n")
	jsonExport := file("json", exportedAuth(collabToken, true))
	tests := []struct {
		name  string
		args  []string
		stdin string
		user  string
		token string
	}{
		{name: "raw token file (charmcraft 4.4+)", args: []string{"--with-credentials", raw}, user: "alice", token: ownerToken},
		{name: "json file (older charmcraft)", args: []string{"--with-credentials", jsonExport}, user: "bob", token: collabToken},
		{name: "stdin", args: []string{"--with-credentials", "-"}, stdin: exportedAuth(ownerToken, true), user: "alice", token: ownerToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			u := newUserConfig(t, w)
			res := u.run(t, tt.stdin, nil, append([]string{"login"}, tt.args...)...)
			if res.code != 0 || !strings.Contains(res.stdout, "as '"+tt.user+"'\nLogin Succeeded\n") {
				t.Fatalf("login: %s", res)
			}
			if user, macaroon := u.stored(t); user != tt.user || macaroon != tt.token {
				t.Fatalf("stored %q with another macaroon than exported", user)
			}
			noSecrets(t, res, tt.token, exportedAuth(tt.token, false), exportedAuth(tt.token, true))
			path, _ := writeFile(t, "data.bin", 10)
			if res := u.run(t, "", nil, "upload-resource", "my-charm", "my-file", "--filepath", path); res.code != 0 {
				t.Errorf("upload with the imported credentials: %s", res)
			}
		})
	}
}

func TestLoginWithCredentialsRefused(t *testing.T) {
	dir := t.TempDir()
	notBase64 := filepath.Join(dir, "garbage")
	_ = os.WriteFile(notBase64, []byte("this is not base64!"), 0o600)
	unknown := filepath.Join(dir, "unknown")
	_ = os.WriteFile(unknown, []byte(exportedAuth("nobody-knows-this-token", false)), 0o600)
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, nil, 0o600)
	tests := []struct {
		name, file, stderr string
	}{
		{"not base64", notBase64, "is not valid base64"},
		{"unknown token", unknown, "did not accept the credentials"},
		{"empty", empty, "is empty"},
		{"missing", filepath.Join(dir, "nope"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			u := newUserConfig(t, w)
			res := u.run(t, "", nil, "login", "--with-credentials", tt.file)
			if res.code != 1 || !strings.Contains(res.stderr, tt.stderr) || strings.Contains(res.stderr, "CHARMCRAFT_AUTH") {
				t.Fatalf("want exit 1 and %q (not naming CHARMCRAFT_AUTH); got %s", tt.stderr, res)
			}
			if user, _ := u.stored(t); user != "" {
				t.Errorf("credentials stored for %q", user)
			}
			noSecrets(t, res, "nobody-knows-this-token")
		})
	}
}

func TestLoginAndLogoutRefuseWhileCharmcraftAuthIsSet(t *testing.T) {
	w := newWorld(t)
	u := newUserConfig(t, w)
	auth := []string{"CHARMCRAFT_AUTH=" + exportedAuth(ownerToken, false)}
	for _, args := range [][]string{{"login"}, {"login", "--with-credentials", "-"}, {"logout"}} {
		res := u.run(t, aliceEmail+"\n"+alicePassword+"\n", auth, args...)
		if res.code != 1 || !strings.Contains(res.stderr, "while CHARMCRAFT_AUTH is set") || strings.Contains(res.stderr, "Email") {
			t.Errorf("%v: want a refusal naming CHARMCRAFT_AUTH before any prompt; got %s", args, res)
		}
		noSecrets(t, res, ownerToken)
	}
	if user, _ := u.stored(t); user != "" {
		t.Errorf("credentials stored for %q", user)
	}
	// whoami works with it, and says whose it is.
	res := u.run(t, "", auth, "whoami")
	if res.code != 0 || !strings.Contains(res.stdout, "username: alice") {
		t.Errorf("whoami with CHARMCRAFT_AUTH: %s", res)
	}
}

// TestLoginDebugShowsNoSecret logs every request of the login flow: the
// password, the macaroons and the token must not be among them.
func TestLoginDebugShowsNoSecret(t *testing.T) {
	w := newWorld(t)
	u := newUserConfig(t, w)
	res := u.run(t, bobEmail+"\n"+bobPassword+"\n"+bobOTP+"\n", nil, "login", "--debug")
	if res.code != 0 || !strings.Contains(res.stderr, "/v1/tokens/usso/exchange") || !strings.Contains(res.stderr, "/api/v2/tokens/discharge") {
		t.Fatalf("login --debug should log the requests of the flow: %s", res)
	}
	_, token := u.stored(t)
	noSecrets(t, res, bobPassword, bobOTP, token, "root=", "discharge=")
}
