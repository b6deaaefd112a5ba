package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needDocker skips the test when no Docker daemon answers, unless
// CHARMCRAFT_REQUIRE_DOCKER is set (as in CI), where it fails instead.
func needDocker(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a Docker daemon (skipped with -short)")
	}
	if err := exec.Command("docker", "info").Run(); err != nil {
		if os.Getenv("CHARMCRAFT_REQUIRE_DOCKER") != "" {
			t.Fatalf("no Docker daemon answers (`docker info`: %v); start one with scripts/matrix.sh", err)
		}
		t.Skip("no Docker daemon answers; start one with scripts/matrix.sh")
	}
}

// layerSpec describes one layer of a test image: size bytes of random
// (incompressible) or text-like data.
type layerSpec struct {
	size   int
	random bool
	// variant changes the content (not the size) of an otherwise equal layer.
	variant uint64
}

// buildImage builds a FROM scratch image with one layer per spec, on the
// real daemon, and returns its ID. seed makes the content (and so the ID)
// reproducible; a test that needs a fresh image uses a fresh seed.
func buildImage(t *testing.T, seed uint64, layers ...layerSpec) string {
	t.Helper()
	dir := t.TempDir()
	var df strings.Builder
	df.WriteString("FROM scratch\n")
	// Fixed times: the same specs give the same layers (diff IDs) in
	// every build, so images can share layers.
	mtime := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, l := range layers {
		name := fmt.Sprintf("layer%d.bin", i)
		rng := rand.New(rand.NewPCG(seed, uint64(i)<<32|l.variant))
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content(rng, l), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&df, "COPY %s /%s\n", name, name)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("docker", "build", "-q", dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker build: %v\n%s", err, stderr.String())
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { removeBuilt(id) })
	return id
}

// removeBuilt removes an image built by the classic builder and the
// intermediate images under it: the classic store removes those with the
// image, the containerd store keeps them (and their layers) otherwise.
// An intermediate another image still uses is left (rmi refuses it, or
// its layers stay with that image).
func removeBuilt(id string) {
	var parents []string
	for p := id; ; {
		out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Parent}}", p).Output()
		if p = strings.TrimSpace(string(out)); err != nil || p == "" {
			break
		}
		parents = append(parents, p)
	}
	_ = exec.Command("docker", "rmi", "-f", id).Run()
	for _, p := range parents {
		_ = exec.Command("docker", "rmi", p).Run()
	}
}

func content(rng *rand.Rand, l layerSpec) []byte {
	b := make([]byte, l.size)
	if l.random {
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	words := []string{"charm ", "juju ", "resource ", "layer ", "image ", "ubuntu ", "\n"}
	for i := 0; i < len(b); {
		i += copy(b[i:], words[rng.IntN(len(words))])
	}
	return b
}

// containerdStore tells whether the daemon of the tests keeps its images
// in containerd's image store (Docker Desktop's default), where an image
// ID is the digest of the image's manifest and layers are stored
// compressed, rather than in the classic store, where it is the digest of
// the config.
func containerdStore(t *testing.T) bool {
	t.Helper()
	out, err := exec.Command("docker", "info", "--format", "{{json .DriverStatus}}").Output()
	if err != nil {
		t.Fatalf("docker info: %v", err)
	}
	return strings.Contains(string(out), "io.containerd.snapshotter.v1")
}

// checkSameImage checks that the image pulled back from the registry is
// the local image id: on the classic store its config is the image's,
// unchanged, so its digest is the image ID; on the containerd store the
// image's own manifest was pushed, so the remote digest is the image ID.
func checkSameImage(t *testing.T, p *pulled, id, remote string) {
	t.Helper()
	if containerdStore(t) {
		if remote != id {
			t.Errorf("remote digest %s, want the image ID %s (the image's own manifest)", remote, id)
		}
		return
	}
	if p.configDigest != id || p.manifest.Config.Digest != id {
		t.Errorf("the registry holds config %s (hashing to %s), want the image ID %s", p.manifest.Config.Digest, p.configDigest, id)
	}
}
