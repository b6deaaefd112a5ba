package windows

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/ocitest"
)

// readable lets the Wine user read everything under dir.
func readable(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		return os.Chmod(path, mode)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestUploadRockPaths uploads a rock, and an OCI layout, named the ways a
// Windows user names them, with no Docker daemon: the first upload pushes
// the rock, the others find it in the registry; each makes a revision of
// the rock's manifest.
func TestUploadRockPaths(t *testing.T) {
	w := newWorld(t)
	dir := workDir(t)
	spec := ocitest.Spec{Images: []ocitest.Image{{Platform: "linux/amd64", Layers: []int64{1 << 20, 1000}, Seed: 24, RefName: "1.0"}}}
	err := os.Mkdir(filepath.Join(dir, "my rocks"), 0o755)
	var written ocitest.Written
	if err == nil {
		written, err = ocitest.WriteArchive(filepath.Join(dir, "my rocks", "app_1.0_amd64.rock"), spec)
	}
	if err == nil {
		_, err = ocitest.WriteLayout(filepath.Join(dir, "my layout"), spec)
	}
	if err != nil {
		t.Fatal(err)
	}
	readable(t, dir)
	win := winPath(t, dir)
	tests := []struct {
		name, cwd, image string
	}{
		{"drive letter, spaces", "", win + `\my rocks\app_1.0_amd64.rock`},
		{"drive letter, forward slashes", "", strings.ReplaceAll(win, `\`, "/") + "/my rocks/app_1.0_amd64.rock"},
		{"relative, dot", dir, `.\my rocks\app_1.0_amd64.rock`},
		{"relative, parent", filepath.Join(dir, "my rocks"), `..\my rocks\app_1.0_amd64.rock`},
		{"oci-archive:", "", `oci-archive:` + win + `\my rocks\app_1.0_amd64.rock`},
		{"layout directory", "", win + `\my layout`},
		{"oci:", dir, `oci:.\my layout`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runPlugin(t, tt.cwd, w.env(true), "upload-resource", "my-charm", "my-image", "--image", tt.image)
			want := "Revision " + strconv.Itoa(i+1) + " created of resource 'my-image' for charm 'my-charm'\n"
			if res.code != 0 || res.stdout != want {
				t.Fatalf("--image %s: want %q; got %s", tt.image, want, res)
			}
			if i == 0 && !strings.Contains(res.stderr, "Image uploaded, new remote digest: "+written.Top[0].String()) ||
				i > 0 && !strings.Contains(res.stderr, "Using the OCI image from Canonical's registry") {
				t.Errorf("--image %s: %s", tt.image, res)
			}
			if got, want := w.lastImage(), w.reg.Host+"/"+imageRepo+"@"+written.Top[0].String(); got != want {
				t.Errorf("the revision names %q, want %q", got, want)
			}
			noTrace(t, res)
		})
	}

	res := runPlugin(t, "", w.env(true), "upload-resource", "my-charm", "my-image", "--image", win+`\my rocks\none.rock`)
	if res.code != 1 || !strings.Contains(res.stderr, `no such file or directory`) || !strings.Contains(res.stderr, `none.rock`) {
		t.Errorf("a missing rock: want a refusal naming it; got %s", res)
	}
	noTrace(t, res)
}
