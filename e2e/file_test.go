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
