package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
	"github.com/canonical/docker-charmcraft/internal/testutil"
)

// The Ubuntu One accounts of the login tests.
var (
	aliceEmail, alicePassword     = charmhubtest.Alice.Email, charmhubtest.Alice.Password
	bobEmail, bobPassword, bobOTP = charmhubtest.Bob.Email, charmhubtest.Bob.Password, charmhubtest.Bob.OTP
)

// userConfig is a docker config directory of its own, with the plugin,
// so that what login stores is seen by this test only.
type userConfig struct {
	dir string
	w   *world
}

func newUserConfig(t *testing.T, w *world) *userConfig {
	t.Helper()
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
	testutil.NoSecrets(t, res.String(), secrets...)
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
