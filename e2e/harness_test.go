package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// pluginDir holds the plugin built once for the whole run, in a docker
// config directory of its own.
var configDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "charmcraft-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	configDir = dir
	if err := buildPlugin(filepath.Join(dir, "cli-plugins")); err != nil {
		fmt.Fprintln(os.Stderr, "building the plugin:", err)
		return 1
	}
	return m.Run()
}

// pluginEnv names a plugin binary built beforehand (as buildPlugin builds
// it), which the run copies instead of building: scripts/test.sh builds
// it once for all its passes.
const pluginEnv = "CHARMCRAFT_TEST_PLUGIN"

func buildPlugin(pluginDir string) error {
	if err := os.MkdirAll(pluginDir, 0o755); err != nil {
		return err
	}
	if prebuilt := os.Getenv(pluginEnv); prebuilt != "" {
		b, err := os.ReadFile(prebuilt) //nolint:gosec // the test run's own choice of binary
		if err != nil {
			return fmt.Errorf("%s: %w", pluginEnv, err)
		}
		return os.WriteFile(filepath.Join(pluginDir, "docker-charmcraft"), b, 0o755) //nolint:gosec // an executable
	}
	_, thisFile, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(thisFile))
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version=e2e-test",
		"-o", filepath.Join(pluginDir, "docker-charmcraft"), "./cmd/docker-charmcraft")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w\n%s", err, out)
	}
	return nil
}

// result is what one run of the docker CLI did.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// dockerCmd runs `docker --config <configDir> args...` with env added to a
// minimal environment.
func dockerCmd(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return execCmd(t, "docker", env, append([]string{"--config", configDir}, args...)...)
}

// pluginCmd runs the plugin binary directly, as a user might.
func pluginCmd(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return execCmd(t, filepath.Join(configDir, "cli-plugins", "docker-charmcraft"), env, args...)
}

func execCmd(t *testing.T, name string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(baseEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("running %s %s: %v", name, strings.Join(args, " "), err)
		}
		res.code = ee.ExitCode()
	}
	return res
}

// baseEnv keeps only what a command needs from the test's environment, so
// that a developer's own CHARMCRAFT_* settings do not leak in.
func baseEnv() []string {
	var env []string
	// SSL_CERT_FILE: the CA of the TLS registries (scripts/test.sh).
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "DOCKER_HOST", "GOCOVERDIR", "SSL_CERT_FILE"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// exportedAuth encodes a token as `charmcraft login --export` does.
func exportedAuth(token string, jsonForm bool) string {
	if jsonForm {
		return base64.StdEncoding.EncodeToString([]byte(`{"t": "macaroon", "v": "` + token + `"}`))
	}
	return base64.StdEncoding.EncodeToString([]byte(token))
}

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
