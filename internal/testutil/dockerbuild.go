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
// returns the image's ID. The image is removed when t ends, with the
// intermediate images under it: the classic store removes those with the
// image, the containerd store keeps them (and their layers) otherwise. An
// intermediate another image still uses is left (rmi refuses it).
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
		docker := func(args ...string) *exec.Cmd {
			cmd := exec.CommandContext(context.Background(), "docker", args...) //nolint:gosec // the image just built and its parents
			cmd.Env = env
			return cmd
		}
		var parents []string
		for p := id; ; {
			out, err := docker("image", "inspect", "--format", "{{.Parent}}", p).Output()
			if p = strings.TrimSpace(string(out)); err != nil || p == "" {
				break
			}
			parents = append(parents, p)
		}
		_ = docker("rmi", "-f", id).Run()
		for _, p := range parents {
			_ = docker("rmi", p).Run()
		}
	})
	return id
}
