package windows

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The settings scripts/windows-e2e.sh passes.
const (
	rootEnv   = "CHARMCRAFT_WINE_ROOT"       // the Debian 13 chroot holding Wine 10
	userEnv   = "CHARMCRAFT_WINE_USER"       // the user Wine runs as there; the default is charm
	exeEnv    = "CHARMCRAFT_WINE_EXE"        // docker-charmcraft.exe, inside the chroot; built when unset
	dockerEnv = "CHARMCRAFT_TEST_DOCKER_TCP" // a Docker daemon on loopback TCP, as scripts/matrix.sh writes it
)

// wine is the chroot and the user the plugin runs as there.
var wine struct {
	root, user, home, prefix string
	exe                      string // the .exe, as a path in the chroot
}

func TestMain(m *testing.M) {
	if os.Getenv(rootEnv) == "" {
		fmt.Printf("skipping the Windows suite: %s is not set (see scripts/windows-e2e.sh)\n", rootEnv)
		return
	}
	if err := setUp(); err != nil {
		fmt.Fprintln(os.Stderr, "windows e2e:", err)
		os.Exit(1)
	}
	code := m.Run()
	// Stop the wineserver this run kept alive.
	_ = chroot(wine.user, wine.home, nil, "/usr/lib/wine/wineserver", "-k").Run()
	os.Exit(code)
}

func setUp() error {
	wine.root = os.Getenv(rootEnv)
	wine.user = cmp.Or(os.Getenv(userEnv), "charm")
	wine.home = "/home/" + wine.user
	wine.prefix = wine.home + "/.wine"
	if _, err := os.Stat(filepath.Join(wine.root, "usr/lib/wine/wine64")); err != nil {
		return fmt.Errorf("no Wine in %s: %w", wine.root, err)
	}
	exe := os.Getenv(exeEnv)
	if exe == "" {
		exe = filepath.Join(wine.root, "w", "docker-charmcraft.exe")
		if err := build(exe); err != nil {
			return err
		}
	}
	rel, err := filepath.Rel(wine.root, exe)
	if err != nil || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("%s=%s is not inside %s", exeEnv, exe, wine.root)
	}
	wine.exe = "/" + rel
	// One wineserver for the whole run (it fails when one runs already),
	// with Wine's services started (wineboot), so that each command does
	// not start its own.
	_ = chroot(wine.user, wine.home, nil, "/usr/lib/wine/wineserver", "-p").Run()
	// Its output goes to a file: the services it starts would hold a pipe.
	log, err := os.CreateTemp("", "wineboot-")
	if err != nil {
		return err
	}
	defer func() { _ = log.Close(); _ = os.Remove(log.Name()) }()
	boot := chroot(wine.user, wine.home, nil, "/usr/lib/wine/wine64", "wineboot")
	boot.Stdout, boot.Stderr = log, log
	if err := boot.Run(); err != nil {
		out, _ := os.ReadFile(log.Name())
		return fmt.Errorf("wineboot: %w\n%s", err, out)
	}
	return nil
}

func build(exe string) error {
	_, thisFile, _, _ := runtime.Caller(0)
	cmd := exec.Command("go", "build", "-o", exe, "./cmd/docker-charmcraft")
	cmd.Dir = filepath.Join(filepath.Dir(thisFile), "..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=windows", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the Windows plugin: %w\n%s", err, out)
	}
	return nil
}

// chroot is a command run as user in the chroot, in dir (a path there),
// with a clean environment plus env.
func chroot(user, dir string, env []string, args ...string) *exec.Cmd {
	full := []string{"--userspec=" + user + ":" + user, wine.root, "/usr/bin/env", "-i", "-C", dir,
		"HOME=" + wine.home, "USER=" + user, "LOGNAME=" + user, "PATH=/usr/bin:/bin",
		"WINEPREFIX=" + wine.prefix, "WINEDEBUG=-all"}
	full = append(full, env...)
	return exec.Command("chroot", append(full, args...)...) //nolint:gosec // the test's own command
}

// result is what one run of the plugin did.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// plugin is a run of docker-charmcraft.exe under Wine: in dir (a host
// path inside the chroot, "" for the user's home), with env added. Its
// output goes to files, not pipes: Wine's helper processes (winedevice,
// services) would hold a pipe open long after the program ended.
type plugin struct {
	cmd            *exec.Cmd
	stdout, stderr *os.File
	done           chan error
}

func newPlugin(t *testing.T, dir string, env []string, args ...string) *plugin {
	t.Helper()
	cwd := wine.home
	if dir != "" {
		cwd = chrootPath(t, dir)
	}
	p := &plugin{cmd: chroot(wine.user, cwd, env, append([]string{"/usr/lib/wine/wine64", wine.exe}, args...)...), done: make(chan error, 1)}
	out := t.TempDir()
	for _, f := range []**os.File{&p.stdout, &p.stderr} {
		var err error
		if *f, err = os.CreateTemp(out, "out-"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = (*f).Close() })
	}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	return p
}

// runPlugin runs the plugin to its end.
func runPlugin(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	p := newPlugin(t, dir, env, args...)
	p.start(t)
	return p.wait(t, 3*time.Minute)
}

// runPluginStdin runs the plugin to its end with stdin read from a file
// holding input.
func runPluginStdin(t *testing.T, input string, env []string, args ...string) result {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stdin")
	if err := os.WriteFile(path, []byte(input), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = in.Close() }()
	p := newPlugin(t, "", env, args...)
	p.cmd.Stdin = in
	p.start(t)
	return p.wait(t, 3*time.Minute)
}

func (p *plugin) start(t *testing.T) {
	t.Helper()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done //nolint:errcheck // killed
		}
	})
}

// output is what the program wrote to f so far.
func output(f *os.File) string {
	data, _ := os.ReadFile(f.Name())
	return string(data)
}

func (p *plugin) wait(t *testing.T, limit time.Duration) result {
	t.Helper()
	var err error
	select {
	case err = <-p.done:
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done //nolint:errcheck // killed
		t.Fatalf("still running after %s:\n%s", limit, output(p.stderr))
	}
	res := result{stdout: output(p.stdout), stderr: output(p.stderr)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return res
}

// interrupt sends SIGINT to the Wine process, which Wine turns into a
// CTRL_C_EVENT for the program's console handlers, and says how long the
// program took to end.
func (p *plugin) interrupt(t *testing.T) (result, time.Duration) {
	t.Helper()
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	res := p.wait(t, 15*time.Second)
	return res, time.Since(sent)
}

// workDir is a directory for one test inside the chroot, which the Wine
// user can read: the host path.
func workDir(t *testing.T) string {
	t.Helper()
	base := filepath.Join(wine.root, "w")
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(base, "t-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chrootPath is where a host path inside the chroot is seen from it.
func chrootPath(t *testing.T, hostPath string) string {
	t.Helper()
	rel, err := filepath.Rel(wine.root, hostPath)
	if err != nil || strings.HasPrefix(rel, "..") {
		t.Fatalf("%s is not inside the chroot %s", hostPath, wine.root)
	}
	return "/" + rel
}

// winPath is how the program sees a host path inside the chroot: Wine's
// Z: drive is the chroot's root.
func winPath(t *testing.T, hostPath string) string {
	t.Helper()
	return `Z:` + strings.ReplaceAll(chrootPath(t, hostPath), "/", `\`)
}

// profile is %USERPROFILE% (C:\users\USER) on the host.
func profile() string {
	return filepath.Join(wine.root, wine.prefix, "drive_c", "users", wine.user)
}

// freshProfile removes what earlier runs left in the user's Docker config
// and cache directories.
func freshProfile(t *testing.T) {
	t.Helper()
	for _, dir := range []string{filepath.Join(profile(), ".docker"), filepath.Join(profile(), "AppData", "Local", "docker-charmcraft")} {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}
}
