package e2e

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/ocitest"
)

// noDaemon points the docker CLI and the plugin at a socket nobody
// listens on: a rock needs no Docker daemon.
func noDaemon(t *testing.T) string {
	return "DOCKER_HOST=unix://" + filepath.Join(t.TempDir(), "no-docker.sock")
}

func writeRock(t *testing.T, name string, spec ocitest.Spec) (string, ocitest.Written) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "my rocks", name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	written, err := ocitest.WriteArchive(path, spec)
	if err != nil {
		t.Fatal(err)
	}
	return path, written
}

func TestImageRockWithoutDaemon(t *testing.T) {
	w := newWorld(t)
	path, written := writeRock(t, "my-rock_1.0_amd64.rock", ocitest.Spec{Images: []ocitest.Image{
		{Platform: "linux/amd64", Layers: []int64{2 << 20, 4096, 1 << 20, 300}, Seed: 11, RefName: "1.0"}}})
	res, remote := w.uploadImage(t, path, noDaemon(t))
	if res.code != 0 {
		t.Fatalf("upload of a rock with no daemon: %s", res)
	}
	noTrace(t, res)
	t.Logf("uploaded: %s", res.stderr)
	if remote != written.Top[0].String() {
		t.Errorf("the revision names %s, want the rock's manifest %s", remote, written.Top[0])
	}
	for _, want := range []string{"Remote image not found, uploading from local registry", "Image uploaded, new remote digest: " + written.Top[0].String(), "Revision 1 created of resource 'my-image' for charm 'my-charm'"} {
		if !strings.Contains(res.stderr+res.stdout, want) {
			t.Errorf("the upload does not say %q: %s", want, res)
		}
	}
	if got := w.lastArchs(t, "my-image"); !slices.Equal(got, []string{"amd64"}) {
		t.Errorf("architectures %v, want amd64", got)
	}

	// The same rock again: nothing sent, a new revision of the same image.
	blobs := w.countRegistry(t)
	res, remote = w.uploadImage(t, "oci-archive:"+path, noDaemon(t), "CHARMCRAFT_REGISTRY_URL="+blobs.url)
	if res.code != 0 || remote != written.Top[0].String() {
		t.Fatalf("second upload of the rock: %s", res)
	}
	if !strings.Contains(res.stderr, "Using the OCI image from Canonical's registry") || strings.Contains(res.stderr, "uploading") {
		t.Errorf("the second upload should reuse the image: %s", res)
	}
	if n := blobs.blobBytes(); n != 0 {
		t.Errorf("%d bytes of blob uploads for a rock the registry holds", n)
	}
}

func TestImageLayoutWithoutDaemon(t *testing.T) {
	w := newWorld(t)
	dir := filepath.Join(t.TempDir(), "my layout")
	written, err := ocitest.WriteLayout(dir, ocitest.Spec{Index: true, Images: []ocitest.Image{
		{Platform: "linux/s390x", Layers: []int64{1 << 20}, Seed: 12},
		{Platform: "linux/arm64", Layers: []int64{1 << 20}, Seed: 12},
		{Platform: "linux/amd64", Layers: []int64{1 << 20}, Seed: 12},
	}})
	if err != nil {
		t.Fatal(err)
	}
	res, remote := w.uploadImage(t, "oci:"+dir, noDaemon(t))
	if res.code != 0 {
		t.Fatalf("upload of a layout with no daemon: %s", res)
	}
	if remote != written.Top[0].String() {
		t.Errorf("the revision names %s, want the layout's index %s", remote, written.Top[0])
	}
	if got := w.lastArchs(t, "my-image"); !slices.Equal(got, []string{"amd64", "arm64", "s390x"}) {
		t.Errorf("architectures %v, want amd64, arm64, s390x", got)
	}
}

func TestImageRockRefusals(t *testing.T) {
	w := newWorld(t)
	bad, written := writeRock(t, "bad.rock", ocitest.Spec{Corrupt: true, Images: []ocitest.Image{
		{Platform: "linux/amd64", Layers: []int64{1 << 20}, Seed: 13}}})
	two, _ := writeRock(t, "two.rock", ocitest.Spec{Images: []ocitest.Image{
		{Platform: "linux/amd64", Layers: []int64{1000}, Seed: 14, RefName: "1.0"},
		{Platform: "linux/arm64", Layers: []int64{1000}, Seed: 14, RefName: "1.0-arm"}}})
	tests := []struct {
		name, image string
		want        []string
	}{
		{"damaged", bad, []string{written.Corrupted.String(), "damaged", "nothing was uploaded"}},
		{"two images", two, []string{"holds 2 images", "linux/amd64", "linux/arm64", "--platform"}},
		{"missing", "./no-such.rock", []string{`no such file or directory "./no-such.rock"`}},
		{"missing bare", "no-such.rock", []string{"no such file in this directory", "\nGive the path of the rock"}},
	}
	blobs := w.countRegistry(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _ := w.uploadImage(t, tt.image, noDaemon(t), "CHARMCRAFT_REGISTRY_URL="+blobs.url)
			if res.code != 1 {
				t.Fatalf("%s was not refused: %s", tt.image, res)
			}
			noTrace(t, res)
			t.Logf("refused: %s", res.stderr)
			for _, want := range tt.want {
				if !strings.Contains(res.stderr, want) {
					t.Errorf("the refusal does not say %q: %s", want, res)
				}
			}
		})
	}
	if n := blobs.blobBytes(); n != 0 {
		t.Errorf("%d bytes of blob uploads for refused rocks", n)
	}
	if n := len(w.hub.Revisions("my-charm", "my-image")); n != 0 {
		t.Errorf("%d revisions created, want none", n)
	}

	// --platform picks one image of the two.
	res := dockerCmd(t, w.env(ownerToken, noDaemon(t)), "charmcraft", "upload-resource", "my-charm", "my-image", "--image", two, "--platform=linux/arm64")
	if res.code != 0 {
		t.Fatalf("--platform=linux/arm64 of two images: %s", res)
	}
	if got := w.lastArchs(t, "my-image"); !slices.Equal(got, []string{"arm64"}) {
		t.Errorf("architectures %v, want arm64", got)
	}
}

// TestImageSavedArchive uploads what `docker save` writes, with no
// daemon: Docker 25 and later write an OCI archive (index.json), which is
// pushed as it is; older ones their own format (manifest.json alone),
// which is refused, saying to `docker load` it.
func TestImageSavedArchive(t *testing.T) {
	needDocker(t)
	w := newWorld(t)
	id := buildImage(t, 2424, layerSpec{size: 256 << 10, random: true}, layerSpec{size: 64 << 10})
	path := filepath.Join(t.TempDir(), "saved image.tar")
	if out, err := exec.Command("docker", "save", "-o", path, id).CombinedOutput(); err != nil {
		t.Fatalf("docker save: %v\n%s", err, out)
	}
	index := tarEntry(t, path, "index.json")
	res, remote := w.uploadImage(t, path, noDaemon(t))
	noTrace(t, res)
	if index == nil {
		if res.code != 1 || !strings.Contains(res.stderr, "docker load -i") {
			t.Fatalf("a docker save archive of Docker's own format should be refused, saying to docker load it: %s", res)
		}
		t.Logf("refused: %s", res.stderr)
		return
	}
	if res.code != 0 {
		t.Fatalf("the OCI archive docker save wrote: %s", res)
	}
	var idx struct {
		Manifests []struct{ Digest string } `json:"manifests"`
	}
	if err := json.Unmarshal(index, &idx); err != nil || len(idx.Manifests) == 0 {
		t.Fatalf("index.json %s: %v", index, err)
	}
	if remote != idx.Manifests[0].Digest {
		t.Errorf("the revision names %s, want the archive's %s", remote, idx.Manifests[0].Digest)
	}
}

// tarEntry is the content of the entry name of a tar, nil if it has none.
func tarEntry(t *testing.T, path, name string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}
