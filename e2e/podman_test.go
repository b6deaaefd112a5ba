package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The tests of this file run the plugin against Podman's Docker-compatible
// API instead of a Docker daemon: Podman's service (scripts/podman.sh
// starts one, Debian sid's podman 5.8 in a chroot) at the address
// CHARMCRAFT_TEST_PODMAN names, unix:///srv/sid/run/podman/podman.sock
// say. Without it they skip. Podman keeps images as the classic store
// does (an image ID is the digest of its config), and its
// /images/{name}/get writes a docker-archive, which the plugin reads.

// usePodman points the docker CLI, the plugin and the test's own client at
// Podman's service for the rest of the test.
func usePodman(t *testing.T) {
	t.Helper()
	host := os.Getenv("CHARMCRAFT_TEST_PODMAN")
	if host == "" {
		t.Skip("set CHARMCRAFT_TEST_PODMAN to the socket of a Podman service (scripts/podman.sh starts one)")
	}
	t.Setenv("DOCKER_HOST", host)
	out, err := exec.Command("docker", "version", "--format", "{{range .Server.Components}}{{.Name}} {{.Version}};{{end}}").CombinedOutput()
	if err != nil {
		t.Fatalf("Podman's service at %s does not answer: %v\n%s", host, err, out)
	}
	if !strings.Contains(string(out), "Podman Engine") {
		t.Fatalf("%s is not Podman's service: its components are %s", host, out)
	}
}

func TestPodmanUploadFile(t *testing.T) {
	usePodman(t)
	w := newWorld(t)
	path, data := writeFile(t, "data.tar.gz", 1<<20)
	res := dockerCmd(t, w.env(ownerToken), "charmcraft", "upload-resource", "my-charm", "my-file", "--filepath", path)
	if want := "Revision 1 created of resource 'my-file' for charm 'my-charm'\n"; res.code != 0 || res.stdout != want {
		t.Fatalf("want exactly %q on stdout; got %s", want, res)
	}
	revs := w.hub.Revisions("my-charm", "my-file")
	if len(revs) != 1 || !bytes.Equal(revs[0].Content, data) {
		t.Fatalf("%d revisions stored; want one holding the file's %d bytes", len(revs), len(data))
	}
}

// TestPodmanUploadImage uploads an image Podman built, by short and by
// full ID: the registry gets Podman's config unchanged (its digest is the
// image ID) and the image keeps its names.
func TestPodmanUploadImage(t *testing.T) {
	usePodman(t)
	w := newWorld(t)
	id := buildImage(t, 1, layerSpec{size: 2 << 20, random: true}, layerSpec{size: 1 << 20, random: false})
	if !strings.HasPrefix(id, "sha256:") {
		id = "sha256:" + id // podman build -q prints the bare hex
	}
	hex := strings.TrimPrefix(id, "sha256:")
	tag := "charmcraft-podman-e2e:" + hex[:12]
	docker(t, "tag", id, tag)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", tag).Run() })
	before := namesOf(t, id)
	if before.Entries != 1 || !strings.Contains(before.String(), tag) {
		t.Fatalf("Podman lists the image as %s, want one entry named %s", before, tag)
	}

	remote := w.uploadFirst(t, hex[:12])
	p := w.pull(t, imageRepo, remote)
	if p.configDigest != id || p.manifest.Config.Digest != id {
		t.Errorf("the registry holds config %s (hashing to %s), want Podman's image ID %s", p.manifest.Config.Digest, p.configDigest, id)
	}
	if len(p.manifest.Layers) != 2 {
		t.Errorf("%d layers, want 2", len(p.manifest.Layers))
	}
	if after := namesOf(t, id); after.String() != before.String() {
		t.Errorf("the upload changed the image's names:\nbefore %s\nafter  %s", before, after)
	}

	res2, remote2 := w.uploadImage(t, id)
	if res2.code != 0 || remote2 != remote || !strings.Contains(res2.stdout, "Revision 2 created") {
		t.Fatalf("full ID: remote digest %q, want %q: %s", remote2, remote, res2)
	}
}

// TestPodmanUploadRock loads an OCI archive as rockcraft writes one (its
// only name is org.opencontainers.image.ref.name, "3.0") into Podman and
// uploads it by ID: Podman's ID is the config's digest, and the upload
// leaves the names Podman gave it.
func TestPodmanUploadRock(t *testing.T) {
	usePodman(t)
	w := newWorld(t)
	l := newOCILayout()
	m := l.platformImage("amd64", 21, 1<<20)
	cfg := l.blobsOf(m)[1]
	out := docker(t, "load", "-i", l.tarballNamed(t, m, map[string]string{"org.opencontainers.image.ref.name": "3.0"}))
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", cfg).Run() })
	before := namesOf(t, cfg)
	t.Logf("docker load: %s; Podman lists %s", out, before)
	if before.InspectedID != cfg {
		t.Fatalf("Podman has no image %s (the config's digest) after the load: %s", cfg, before)
	}
	res, remote := w.uploadImage(t, strings.TrimPrefix(cfg, "sha256:")[:12])
	if res.code != 0 || remote == "" {
		t.Fatalf("%s", res)
	}
	if p := w.pull(t, imageRepo, remote); p.configDigest != cfg {
		t.Errorf("the registry holds config %s, want %s", p.configDigest, cfg)
	}
	if after := namesOf(t, cfg); after.String() != before.String() {
		t.Errorf("the upload changed the image's names:\nbefore %s\nafter  %s", before, after)
	}
	t.Logf("the rock's manifest is %s; the plugin pushed %s", m.Digest, remote)

	// By the digest Podman lists among its RepoDigests (the rock's own
	// manifest, which the registry lacks): the same image, the same push.
	if len(before.Digests) != 1 || !strings.HasSuffix(before.Digests[0], "@"+m.Digest) {
		t.Fatalf("Podman lists RepoDigests %q, want the rock's manifest %s", before.Digests, m.Digest)
	}
	res2, remote2 := w.uploadImage(t, m.Digest)
	if res2.code != 0 || remote2 != remote || !strings.Contains(res2.stdout, "Revision 2 created") {
		t.Fatalf("by RepoDigest: remote digest %q, want %q: %s", remote2, remote, res2)
	}
}
