package e2e

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The tests here install a released plugin as someone without Go does:
// install.sh downloads it from a release served on loopback, laid out as
// `make release` (and goreleaser, by .goreleaser.yaml) lays it out, and
// checks it against the release's SHA256SUMS before installing it.

// serveRelease serves dist as release v9.9.9 and as the latest release,
// under /releases as GitHub lays them out, and install.sh at the root;
// it returns the server's URL.
func serveRelease(t *testing.T, dist string) string {
	t.Helper()
	files := http.FileServer(http.Dir(dist))
	mux := http.NewServeMux()
	mux.Handle("/releases/download/v9.9.9/", http.StripPrefix("/releases/download/v9.9.9", files))
	mux.Handle("/releases/latest/download/", http.StripPrefix("/releases/latest/download", files))
	mux.HandleFunc("/install.sh", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(repoRoot(t), "install.sh"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestInstallRelease(t *testing.T) {
	shells := installShells(t)
	dist, plugin := makeDist(t, func(h, n string) string { return h + "  " + n + "\n" })
	url := serveRelease(t, dist)
	releases := "CHARMCRAFT_RELEASES_URL=" + url + "/releases"
	for _, shell := range shells {
		for _, args := range [][]string{
			{"--version=v9.9.9"},
			{"--version", "9.9.9"},
			{"--version=latest"},
			{"--url=" + url + "/releases/download/v9.9.9/"},
		} {
			t.Run(shell[0]+"/"+strings.Join(args, " "), func(t *testing.T) {
				home, cfg := t.TempDir(), t.TempDir()
				res := install(t, shell, home, t.TempDir(), []string{releases, "DOCKER_CONFIG=" + cfg}, args...)
				if res.code != 0 || !strings.Contains(res.stdout, "Checked "+prebuiltName()+": sha256") ||
					!strings.Contains(res.stdout, "(version e2e-test)") || strings.Contains(res.stdout, "Building") {
					t.Fatal(res)
				}
				if got := checkInstalled(t, filepath.Join(cfg, "cli-plugins")); !bytes.Equal(got, plugin) {
					t.Fatal("the installed plugin is not the released one")
				}
			})
		}
	}
}

// TestInstallReleasePiped runs the README's install line, curl piped into
// sh, in a directory that is no source tree: with no option it installs
// the latest release.
func TestInstallReleasePiped(t *testing.T) {
	installShells(t)
	dist, plugin := makeDist(t, func(h, n string) string { return h + "  " + n + "\n" })
	url := serveRelease(t, dist)
	home, cfg := t.TempDir(), t.TempDir()
	res := execCmd(t, "sh", []string{"HOME=" + home, "DOCKER_CONFIG=" + cfg, "CHARMCRAFT_RELEASES_URL=" + url + "/releases"},
		"-c", `cd "$HOME" && curl -fsSL "$0/install.sh" | sh`, url)
	if res.code != 0 || !strings.Contains(res.stdout, "Downloading "+url+"/releases/latest/download/"+prebuiltName()) {
		t.Fatal(res)
	}
	if got := checkInstalled(t, filepath.Join(cfg, "cli-plugins")); !bytes.Equal(got, plugin) {
		t.Fatal("the installed plugin is not the released one")
	}
}

func TestInstallReleaseRefused(t *testing.T) {
	shells := installShells(t)
	tampered, _ := makeDist(t, func(h, n string) string { return h + "  " + n + "\n" })
	if err := os.WriteFile(filepath.Join(tampered, prebuiltName()), []byte("not the plugin"), 0o755); err != nil {
		t.Fatal(err)
	}
	noBuild, _ := makeDist(t, func(h, n string) string {
		if strings.HasPrefix(n, "docker-charmcraft-plan9") {
			return h + "  " + n + "\n"
		}
		return ""
	})
	tests := []struct {
		name   string
		dist   string
		args   []string
		stderr string
	}{
		{"checksum does not match", tampered, []string{"--version=v9.9.9"}, "does not match the release's SHA256SUMS"},
		{"no build for this platform", noBuild, []string{"--version=v9.9.9"}, "has no " + prebuiltName()},
		{"unknown version", tampered, []string{"--version=v0.0.1"}, "is v0.0.1 a release?"},
		{"version and url", tampered, []string{"--version=v9.9.9", "--url=http://127.0.0.1:1/"}, "not both"},
		{"from source and version", tampered, []string{"--from-source", "--version=v9.9.9"}, "takes no --version"},
	}
	for _, shell := range shells {
		for _, tt := range tests {
			t.Run(shell[0]+"/"+tt.name, func(t *testing.T) {
				url := serveRelease(t, tt.dist)
				home, cfg := t.TempDir(), t.TempDir()
				keep := installedEarlier(t, cfg)
				res := install(t, shell, home, t.TempDir(), []string{"CHARMCRAFT_RELEASES_URL=" + url + "/releases", "DOCKER_CONFIG=" + cfg}, tt.args...)
				if res.code == 0 || !strings.Contains(res.stderr, tt.stderr) {
					t.Fatalf("want a refusal saying %q; got %s", tt.stderr, res)
				}
				keep()
			})
		}
	}
}
