package testutil

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// DockerBuild builds the Dockerfile in dir with the docker CLI's legacy
// builder (no image can be pulled, and BuildKit is not everywhere), on
// the daemon env names (DOCKER_HOST=..., or none for the default), and
// returns the image's ID. The image is removed when t ends.
func DockerBuild(t *testing.T, env []string, dir string) string {
	t.Helper()
	env = append(append(os.Environ(), env...), "DOCKER_BUILDKIT=0")
	cmd := exec.CommandContext(t.Context(), "docker", "build", "-q", dir) //nolint:gosec // a directory the test made
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker build: %v\n%s", err, stderr.String())
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		// t.Context() is done by now.
		rm := exec.CommandContext(context.Background(), "docker", "rmi", "-f", id) //nolint:gosec // the image just built
		rm.Env = env
		_ = rm.Run()
	})
	return id
}
