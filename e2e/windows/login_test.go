package windows

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/testutil"
)

// storedAuth is what %USERPROFILE%\.docker\config.json holds for host:
// the username and the token, "" when nothing is stored.
func storedAuth(t *testing.T, host string) (user, token string) {
	t.Helper()
	cfg, err := testutil.ReadDockerConfig(filepath.Join(profile(), ".docker"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CredsStore != "" {
		t.Errorf("config.json names the credential helper %q", cfg.CredsStore)
	}
	return cfg.Stored(host)
}

// TestLoginWhoamiLogout imports exported credentials into the Windows
// user's Docker config (no credential helper), uses them, and removes
// them, with the file named by a path with spaces.
func TestLoginWhoamiLogout(t *testing.T) {
	freshProfile(t)
	w := newWorld(t)
	dir := workDir(t)
	creds := filepath.Join(dir, "my exports", "charmhub creds.txt")
	if err := os.MkdirAll(filepath.Dir(creds), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(creds, []byte(base64.StdEncoding.EncodeToString([]byte(ownerToken))+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	host := w.apiHost()
	configPath := `C:\users\` + wine.user + `\.docker\config.json`

	res := runPlugin(t, "", w.env(false), "whoami")
	if res.code != 0 || res.stdout != "You are not logged in to Charmhub.\n" {
		t.Fatalf("whoami before login: %s", res)
	}

	res = runPlugin(t, "", w.env(false), "login", "--with-credentials", winPath(t, creds))
	if res.code != 0 || res.stdout != "Logged in to "+host+" as 'alice'\nLogin Succeeded\n" {
		t.Fatalf("login: %s", res)
	}
	if !strings.Contains(res.stderr, "stored unencrypted in '"+configPath+"'") {
		t.Errorf("login should warn that it stored the credentials in %s: %s", configPath, res)
	}
	if user, token := storedAuth(t, host); user != "alice" || token != ownerToken {
		t.Fatalf("%%USERPROFILE%%\\.docker\\config.json holds user %q and another token", user)
	}
	noTrace(t, res)

	res = runPlugin(t, "", w.env(false), "whoami")
	if res.code != 0 || !strings.Contains(res.stdout, "username: alice\n") {
		t.Errorf("whoami: %s", res)
	}
	res = runPlugin(t, "", w.env(false), "whoami", "--format", "json")
	var who struct{ Username string }
	if err := json.Unmarshal([]byte(res.stdout), &who); res.code != 0 || err != nil || who.Username != "alice" {
		t.Errorf("whoami --format json (%v): %s", err, res)
	}

	writeFile(t, dir, "data.bin", 1000, 0o644)
	res = runPlugin(t, dir, w.env(false), "upload-resource", "my-charm", "my-file", "--filepath", "data.bin", "--format", "json")
	var rev struct{ Revision int }
	if err := json.Unmarshal([]byte(res.stdout), &rev); res.code != 0 || err != nil || rev.Revision != 1 {
		t.Errorf("upload --format json with the stored credentials (%v): %s", err, res)
	}
	res = runPlugin(t, "", w.env(false), "resource-revisions", "my-charm", "my-file", "--format", "json")
	var revs []struct {
		Revision int   `json:"revision"`
		Size     int64 `json:"size"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &revs); res.code != 0 || err != nil || len(revs) != 1 || revs[0].Revision != 1 || revs[0].Size != 1000 {
		t.Errorf("resource-revisions --format json (%v): %s", err, res)
	}

	res = runPlugin(t, "", w.env(false), "logout")
	if res.code != 0 || !strings.Contains(res.stdout+res.stderr, "Removing login credentials for "+host) {
		t.Errorf("logout: %s", res)
	}
	if user, _ := storedAuth(t, host); user != "" {
		t.Errorf("after logout, config.json still holds %q", user)
	}
	res = runPlugin(t, "", w.env(false), "whoami")
	if res.code != 0 || res.stdout != "You are not logged in to Charmhub.\n" {
		t.Errorf("whoami after logout: %s", res)
	}
}

// TestLoginWithCredentialsMissing names a file that is not there: the
// path as typed, and nothing stored.
func TestLoginWithCredentialsMissing(t *testing.T) {
	freshProfile(t)
	w := newWorld(t)
	path := winPath(t, workDir(t)) + `\no such\creds.txt`
	res := runPlugin(t, "", w.env(false), "login", "--with-credentials", path)
	if res.code != 1 || res.stdout != "" || !strings.Contains(res.stderr, "--with-credentials '"+path+"': ") {
		t.Errorf("want exit 1 naming '%s'; got %s", path, res)
	}
	if user, _ := storedAuth(t, w.apiHost()); user != "" {
		t.Errorf("credentials stored for %q", user)
	}
	if n := len(w.hubProxy.Requests()); n != 0 {
		t.Errorf("%d requests sent to Charmhub", n)
	}
}

// TestLoginInteractive answers login's prompts with Windows line ends
// (CRLF), from stdin: email address and password.
func TestLoginInteractive(t *testing.T) {
	freshProfile(t)
	w := newWorld(t)
	w.hub.AddSSOAccount("alice@example.com", "correct horse battery staple", "", "alice")
	res := runPluginStdin(t, "alice@example.com\r\ncorrect horse battery staple\r\n",
		w.env(false, "CHARMCRAFT_STORE_SSO_URL="+w.hub.SSOURL()), "login")
	if res.code != 0 || res.stdout != "Logged in to "+w.apiHost()+" as 'alice'\nLogin Succeeded\n" ||
		!strings.Contains(res.stderr, "Email address: ") || !strings.Contains(res.stderr, "Password: ") {
		t.Fatalf("login: %s", res)
	}
	if strings.Contains(res.stdout+res.stderr, "correct horse") {
		t.Errorf("the output shows the password:\n%s", res)
	}
	if user, token := storedAuth(t, w.apiHost()); user != "alice" || token == "" {
		t.Errorf("config.json holds user %q", user)
	}
}
