package plugin

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
	"github.com/canonical/docker-charmcraft/internal/testutil"
)

// login, whoami and logout in process, against charmhubtest's Charmhub
// and Ubuntu One, with a docker config directory of each test's own.
// e2e/ runs the whole flow once through the docker CLI.

// userConfig is a test Charmhub with Ubuntu One accounts, and a docker
// config directory that only this test uses.
type userConfig struct {
	hub *charmhubtest.Server
	dir string
}

func newUserConfig(t *testing.T) *userConfig {
	t.Helper()
	return &userConfig{hub: newHub(t), dir: t.TempDir()}
}

// run runs `charmcraft args...` with stdin and the docker config of u,
// pointed at u's Charmhub without CHARMCRAFT_AUTH (unless extra sets it).
func (u *userConfig) run(t *testing.T, stdin string, extra map[string]string, args ...string) cmdResult {
	t.Helper()
	env := hubEnv(u.hub, "")
	env[ssoURLEnv] = u.hub.SSOURL()
	for k, v := range extra {
		env[k] = v
	}
	// --config, not DOCKER_CONFIG: docker/cli reads the variable once a
	// process.
	return runPlugin(t, env, strings.NewReader(stdin), append([]string{"--config", u.dir, pluginName}, args...)...)
}

// stored is what config.json holds for the Charmhub API host: the
// username and the macaroon ("" when nothing is stored).
func (u *userConfig) stored(t *testing.T) (username, macaroon string) {
	t.Helper()
	cfg, err := testutil.ReadDockerConfig(u.dir)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Stored(apiHost(u.hub.APIURL()))
}

// exportJSON encodes a token as older charmcraft's --export did.
func exportJSON(token string) string {
	return exportToken(`{"t": "macaroon", "v": "` + token + `"}`)
}

func TestLoginTwoFactor(t *testing.T) {
	u := newUserConfig(t)
	res := u.run(t, charmhubtest.Bob.Email+"\n"+charmhubtest.Bob.Password+"\n"+charmhubtest.Bob.OTP+"\n", nil, "login")
	if res.code != 0 || !strings.Contains(res.stdout, "as 'bob'") || !strings.Contains(res.stderr, "One-time password: ") {
		t.Fatalf("login with a one-time password: %s", res)
	}
	user, macaroon := u.stored(t)
	if user != "bob" {
		t.Fatalf("stored user %q, want bob", user)
	}
	testutil.NoSecrets(t, res.String(), charmhubtest.Bob.Password, macaroon)
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
		{name: "wrong password", stdin: charmhubtest.Alice.Email + "\nwrong\n", stderr: "did not accept the email address and password"},
		{name: "unknown email", stdin: "nobody@example.com\n" + charmhubtest.Alice.Password + "\n", stderr: "did not accept the email address and password"},
		{name: "wrong one-time password", stdin: charmhubtest.Bob.Email + "\n" + charmhubtest.Bob.Password + "\n000000\n", stderr: "did not accept the one-time password"},
		{name: "one-time password not given", stdin: charmhubtest.Bob.Email + "\n" + charmhubtest.Bob.Password + "\n", stderr: "standard input ended"},
		{name: "no password", stdin: charmhubtest.Alice.Email + "\n\n", stderr: "a password is required"},
		{name: "nothing", stdin: "", stderr: "standard input ended"},
		{name: "no email address", stdin: "\n", stderr: "an email address is required to log in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUserConfig(t)
			res := u.run(t, tt.stdin, nil, "login")
			if res.code != 1 || !strings.Contains(res.stderr, tt.stderr) || strings.Contains(res.stdout, "Succeeded") {
				t.Fatalf("want exit 1 and %q; got %s", tt.stderr, res)
			}
			if user, _ := u.stored(t); user != "" {
				t.Errorf("credentials stored for %q after a failed login", user)
			}
			testutil.NoSecrets(t, res.String(), charmhubtest.Alice.Password, charmhubtest.Bob.Password, "wrong\n")
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
	raw := file("raw", exportToken(ownerToken)+"\n")
	jsonExport := file("json", exportJSON(collabToken))
	tests := []struct {
		name  string
		args  []string
		stdin string
		user  string
		token string
	}{
		{name: "raw token file (charmcraft 4.4+)", args: []string{"--with-credentials", raw}, user: "alice", token: ownerToken},
		{name: "json file (older charmcraft)", args: []string{"--with-credentials", jsonExport}, user: "bob", token: collabToken},
		{name: "stdin", args: []string{"--with-credentials", "-"}, stdin: exportJSON(ownerToken), user: "alice", token: ownerToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUserConfig(t)
			res := u.run(t, tt.stdin, nil, append([]string{"login"}, tt.args...)...)
			if res.code != 0 || !strings.Contains(res.stdout, "as '"+tt.user+"'\nLogin Succeeded\n") {
				t.Fatalf("login: %s", res)
			}
			if user, macaroon := u.stored(t); user != tt.user || macaroon != tt.token {
				t.Fatalf("stored %q with another macaroon than exported", user)
			}
			testutil.NoSecrets(t, res.String(), tt.token, exportToken(tt.token), exportJSON(tt.token))
			path := writeTestFile(t, "data.bin", 10)
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
	_ = os.WriteFile(unknown, []byte(exportToken("nobody-knows-this-token")), 0o600)
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, nil, 0o600)
	huge := filepath.Join(dir, "huge")
	_ = os.WriteFile(huge, make([]byte, 1<<20+1), 0o600)
	tests := []struct {
		name, file, stderr string
	}{
		{"not base64", notBase64, "is not valid base64"},
		{"unknown token", unknown, "did not accept the credentials"},
		{"empty", empty, "is empty"},
		{"missing", filepath.Join(dir, "nope"), "no such file"},
		{"too large", huge, "--with-credentials " + quotePath(huge) + " is larger than exported credentials can be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUserConfig(t)
			res := u.run(t, "", nil, "login", "--with-credentials", tt.file)
			if res.code != 1 || !strings.Contains(res.stderr, tt.stderr) || strings.Contains(res.stderr, "CHARMCRAFT_AUTH") {
				t.Fatalf("want exit 1 and %q (not naming CHARMCRAFT_AUTH); got %s", tt.stderr, res)
			}
			if user, _ := u.stored(t); user != "" {
				t.Errorf("credentials stored for %q", user)
			}
			testutil.NoSecrets(t, res.String(), "nobody-knows-this-token")
		})
	}
}

func TestLoginAndLogoutRefuseWhileCharmcraftAuthIsSet(t *testing.T) {
	u := newUserConfig(t)
	auth := map[string]string{authEnv: exportToken(ownerToken)}
	for _, args := range [][]string{{"login"}, {"login", "--with-credentials", "-"}, {"logout"}} {
		res := u.run(t, charmhubtest.Alice.Email+"\n"+charmhubtest.Alice.Password+"\n", auth, args...)
		if res.code != 1 || !strings.Contains(res.stderr, "while CHARMCRAFT_AUTH is set") || strings.Contains(res.stderr, "Email") {
			t.Errorf("%v: want a refusal naming CHARMCRAFT_AUTH before any prompt; got %s", args, res)
		}
		testutil.NoSecrets(t, res.String(), ownerToken)
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
	u := newUserConfig(t)
	res := u.run(t, charmhubtest.Bob.Email+"\n"+charmhubtest.Bob.Password+"\n"+charmhubtest.Bob.OTP+"\n", nil, "login", "--debug")
	if res.code != 0 || !strings.Contains(res.stderr, "/v1/tokens/usso/exchange") || !strings.Contains(res.stderr, "/api/v2/tokens/discharge") {
		t.Fatalf("login --debug should log the requests of the flow: %s", res)
	}
	_, token := u.stored(t)
	testutil.NoSecrets(t, res.String(), charmhubtest.Bob.Password, charmhubtest.Bob.OTP, token, "root=", "discharge=")
}
