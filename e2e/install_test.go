package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// The tests here run install.sh for real, as `bash --posix ./install.sh`
// (and under dash, a plain POSIX shell, when there is one), with HOME and
// DOCKER_CONFIG in temporary directories: macOS has bash 3.2, and a script
// that runs in a POSIX shell uses nothing newer.

// installShells are the shells install.sh is run with: bash in POSIX mode,
// and dash when it is here.
func installShells(t *testing.T) [][]string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("install.sh is for Linux and macOS; Windows has install.ps1")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash here")
	}
	shells := [][]string{{"bash", "--posix"}}
	if _, err := exec.LookPath("dash"); err == nil {
		shells = append(shells, []string{"dash"})
	}
	return shells
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// goEnv is the go command's own settings, passed on to install.sh: with
// HOME elsewhere, go would otherwise start from an empty build and module
// cache.
var goEnv = sync.OnceValues(func() ([]string, error) {
	keys := []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOPROXY", "GOSUMDB",
		"GONOSUMDB", "GOPRIVATE", "GONOPROXY", "GOINSECURE", "GOTOOLCHAIN"}
	out, err := exec.Command("go", append([]string{"env", "-json"}, keys...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("go env: %w", err)
	}
	var m map[string]string
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, err
	}
	var env []string
	for _, k := range keys {
		if m[k] != "" {
			env = append(env, k+"="+m[k])
		}
	}
	return env, nil
})

// install runs install.sh with shell, HOME=home, CHARMCRAFT_DIST=dist, and
// the extra environment env.
func install(t *testing.T, shell []string, home, dist string, env []string, args ...string) result {
	t.Helper()
	ge, err := goEnv()
	if err != nil {
		t.Fatal(err)
	}
	full := append(append(append([]string{}, ge...), "HOME="+home, "CHARMCRAFT_DIST="+dist), env...)
	argv := append(append(append([]string{}, shell[1:]...), filepath.Join(repoRoot(t), "install.sh")), args...)
	return execCmd(t, shell[0], full, argv...)
}

// checkInstalled makes sure dir holds the plugin, executable, and nothing
// else (no half-written copy left behind), and returns its content.
func checkInstalled(t *testing.T, dir string) []byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != "docker-charmcraft" {
		t.Fatalf("%s holds %q, want only docker-charmcraft", dir, names)
	}
	p := filepath.Join(dir, "docker-charmcraft")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("%s is not executable: %v", p, fi.Mode())
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dockerChecked makes sure install.sh checked the plugin through the docker
// CLI, when there is one.
func dockerChecked(t *testing.T, res result) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		if !strings.Contains(res.stderr, "docker CLI is not on PATH") {
			t.Fatalf("no docker here, and install.sh did not say so: %s", res)
		}
		return
	}
	if !strings.Contains(res.stdout, "Check: 'docker charmcraft --help' works.") {
		t.Fatalf("install.sh did not check the plugin through docker: %s", res)
	}
}

// systemPlugin is what the system-wide plugin is, to make sure an install
// without --system leaves it alone.
func systemPlugin(t *testing.T) string {
	t.Helper()
	fi, err := os.Stat("/usr/local/lib/docker/cli-plugins/docker-charmcraft")
	if err != nil {
		return "absent"
	}
	return fmt.Sprint(fi.Size(), fi.ModTime())
}

func TestInstallFromSource(t *testing.T) {
	for _, shell := range installShells(t) {
		t.Run(shell[0], func(t *testing.T) {
			system := systemPlugin(t)
			noDist := t.TempDir()

			// DOCKER_CONFIG wins over HOME, and a second run replaces the first.
			home, cfg := t.TempDir(), t.TempDir()
			for i := range 2 {
				res := install(t, shell, home, noDist, []string{"DOCKER_CONFIG=" + cfg})
				if res.code != 0 || !strings.Contains(res.stdout, "Building docker-charmcraft") {
					t.Fatalf("run %d: %s", i+1, res)
				}
				want := "Installed " + filepath.Join(cfg, "cli-plugins", "docker-charmcraft") + " (version "
				if !strings.Contains(res.stdout, want) {
					t.Fatalf("run %d: want %q in stdout; got %s", i+1, want, res)
				}
				dockerChecked(t, res)
				checkInstalled(t, filepath.Join(cfg, "cli-plugins"))
			}
			if _, err := os.Stat(filepath.Join(home, ".docker")); !os.IsNotExist(err) {
				t.Fatalf("with DOCKER_CONFIG set, install.sh wrote to ~/.docker: %v", err)
			}

			// Without DOCKER_CONFIG: ~/.docker/cli-plugins.
			res := install(t, shell, home, noDist, nil)
			if res.code != 0 {
				t.Fatal(res)
			}
			dockerChecked(t, res)
			checkInstalled(t, filepath.Join(home, ".docker", "cli-plugins"))

			if got := systemPlugin(t); got != system {
				t.Fatalf("an install without --system changed the system plugin: %s, was %s", got, system)
			}
		})
	}
}

// prebuiltName is what `make release` calls this platform's binary.
func prebuiltName() string {
	return "docker-charmcraft-" + runtime.GOOS + "-" + runtime.GOARCH
}

// makeDist makes a dist directory holding a prebuilt plugin (the one the
// tests built, whose version is "e2e-test", which no build from source has)
// and SHA256SUMS with sums written by line(hash, name).
func makeDist(t *testing.T, line func(hash, name string) string) (dir string, plugin []byte) {
	t.Helper()
	plugin, err := os.ReadFile(filepath.Join(configDir, "cli-plugins", "docker-charmcraft"))
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, prebuiltName()), plugin, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(plugin)
	other := sha256.Sum256([]byte("another platform"))
	sums := line(hex.EncodeToString(other[:]), "docker-charmcraft-plan9-amd64") +
		line(hex.EncodeToString(sum[:]), prebuiltName())
	if err := os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(sums), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, plugin
}

func TestInstallPrebuilt(t *testing.T) {
	shells := installShells(t)
	formats := []struct {
		name string
		line func(hash, name string) string
	}{
		{"text", func(h, n string) string { return h + "  " + n + "\n" }},
		{"binary", func(h, n string) string { return h + " *" + n + "\n" }},
		{"upper case", func(h, n string) string { return strings.ToUpper(h) + "  " + n + "\n" }},
	}
	for _, shell := range shells {
		for _, f := range formats {
			t.Run(shell[0]+"/"+f.name, func(t *testing.T) {
				dist, plugin := makeDist(t, f.line)
				home, cfg := t.TempDir(), t.TempDir()
				for i := range 2 {
					res := install(t, shell, home, dist, []string{"DOCKER_CONFIG=" + cfg})
					if res.code != 0 || strings.Contains(res.stdout, "Building") ||
						!strings.Contains(res.stdout, "Using "+filepath.Join(dist, prebuiltName())) ||
						!strings.Contains(res.stdout, "(version e2e-test)") {
						t.Fatalf("run %d: %s", i+1, res)
					}
					dockerChecked(t, res)
					if got := checkInstalled(t, filepath.Join(cfg, "cli-plugins")); !bytes.Equal(got, plugin) {
						t.Fatalf("run %d: the installed plugin is not the prebuilt one", i+1)
					}
				}
			})
		}
	}
}

func TestInstallRefusesUncheckedPrebuilt(t *testing.T) {
	shells := installShells(t)
	tests := []struct {
		name   string
		line   func(hash, name string) string
		stderr string
	}{
		{"bad checksum", func(_, n string) string { return strings.Repeat("0", 64) + "  " + n + "\n" }, "does not match"},
		{"no line for it", func(h, n string) string {
			if strings.HasPrefix(n, "docker-charmcraft-plan9") {
				return h + "  " + n + "\n"
			}
			return ""
		}, "has no line for " + prebuiltName()},
		{"no SHA256SUMS", nil, "SHA256SUMS to check it against"},
	}
	for _, shell := range shells {
		for _, tt := range tests {
			t.Run(shell[0]+"/"+tt.name, func(t *testing.T) {
				line := tt.line
				if line == nil {
					line = func(string, string) string { return "" }
				}
				dist, _ := makeDist(t, line)
				if tt.line == nil {
					if err := os.Remove(filepath.Join(dist, "SHA256SUMS")); err != nil {
						t.Fatal(err)
					}
				}
				home, cfg := t.TempDir(), t.TempDir()
				keep := installedEarlier(t, cfg)
				res := install(t, shell, home, dist, []string{"DOCKER_CONFIG=" + cfg})
				if res.code == 0 || !strings.Contains(res.stderr, tt.stderr) || !strings.Contains(res.stderr, "--from-source") {
					t.Fatalf("want a refusal mentioning %q and --from-source; got %s", tt.stderr, res)
				}
				keep()
				if strings.Contains(res.stdout, "Building") {
					t.Fatalf("a refused prebuilt plugin fell back to a build: %s", res)
				}
			})
		}
	}
	t.Run("from source", func(t *testing.T) {
		// --from-source ignores dist/ altogether.
		dist, plugin := makeDist(t, tests[0].line)
		home, cfg := t.TempDir(), t.TempDir()
		res := install(t, shells[0], home, dist, []string{"DOCKER_CONFIG=" + cfg}, "--from-source")
		if res.code != 0 || !strings.Contains(res.stdout, "Building docker-charmcraft") {
			t.Fatal(res)
		}
		if bytes.Equal(checkInstalled(t, filepath.Join(cfg, "cli-plugins")), plugin) {
			t.Fatal("--from-source installed the prebuilt plugin")
		}
	})
	t.Run("unknown option", func(t *testing.T) {
		res := install(t, shells[0], t.TempDir(), t.TempDir(), nil, "--bogus")
		if res.code != 2 || !strings.Contains(res.stderr, "unknown option '--bogus'") {
			t.Fatal(res)
		}
	})
}

// TestInstallTellsWhatToDo puts a docker that sees no plugin, and a brew,
// on PATH: install.sh must say how to make docker find the plugin.
func TestInstallTellsWhatToDo(t *testing.T) {
	shells := installShells(t)
	bin := t.TempDir()
	scripts := map[string]string{
		"docker": "#!/bin/sh\necho \"docker: 'charmcraft' is not a docker command.\" >&2\nexit 1\n",
		"brew":   "#!/bin/sh\n[ \"$1\" = --prefix ] && echo /opt/fakebrew\n",
	}
	for name, s := range scripts {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(s), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, shell := range shells {
		t.Run(shell[0], func(t *testing.T) {
			dist, _ := makeDist(t, func(h, n string) string { return h + "  " + n + "\n" })
			home, cfg := t.TempDir(), t.TempDir()
			res := install(t, shell, home, dist, []string{
				"DOCKER_CONFIG=" + cfg,
				"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
			})
			dest := filepath.Join(cfg, "cli-plugins")
			for _, want := range []string{
				"does not see the plugin in " + dest,
				filepath.Join(cfg, "config.json"),
				`"cliPluginsExtraDirs": ["` + dest + `"]`,
				"/opt/fakebrew/lib/docker/cli-plugins",
			} {
				if res.code != 1 || !strings.Contains(res.stderr, want) {
					t.Fatalf("want exit 1 and %q in stderr; got %s", want, res)
				}
			}
			checkInstalled(t, dest)
		})
	}
}

// installedEarlier puts a plugin, installed earlier, in the Docker
// config directory cfg; keep checks that a refused install left it as
// it was.
func installedEarlier(t *testing.T, cfg string) (keep func()) {
	t.Helper()
	installed := filepath.Join(cfg, "cli-plugins", "docker-charmcraft")
	if err := os.MkdirAll(filepath.Dir(installed), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(installed, []byte("earlier"), 0o755); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if b, _ := os.ReadFile(installed); string(b) != "earlier" {
			t.Fatal("a refused install replaced the installed plugin")
		}
	}
}
