package e2e

import (
	"runtime"
	"slices"
	"strings"
	"testing"
)

// lastArchs is the architectures of the last revision of a resource.
func (w *world) lastArchs(t *testing.T, resource string) []string {
	t.Helper()
	revs := w.hub.Revisions("my-charm", resource)
	if len(revs) == 0 {
		t.Fatalf("no revision of %s", resource)
	}
	bases := revs[len(revs)-1].Bases
	if len(bases) != 1 || bases[0].Name != "all" || bases[0].Channel != "all" {
		t.Fatalf("bases %+v, want one base all/all", bases)
	}
	return bases[0].Architectures
}

func TestArchFile(t *testing.T) {
	w := newWorld(t)
	path, _ := writeFile(t, "data.bin", 100)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{name: "default", want: []string{"all"}},
		{name: "all", args: []string{"--arch", "all"}, want: []string{"all"}},
		{name: "one", args: []string{"--arch=s390x"}, want: []string{"s390x"}},
		{name: "several, repeats dropped", args: []string{"--arch", "amd64,arm64,amd64"}, want: []string{"amd64", "arm64"}},
		{name: "every one", args: []string{"--arch", "amd64,arm64,armhf,ppc64el,riscv64,s390x"}, want: []string{"amd64", "arm64", "armhf", "ppc64el", "riscv64", "s390x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"charmcraft", "upload-resource", "my-charm", "my-file", "--filepath", path}, tt.args...)
			if res := dockerCmd(t, w.env(ownerToken), args...); res.code != 0 {
				t.Fatalf("upload: %s", res)
			}
			if got := w.lastArchs(t, "my-file"); !slices.Equal(got, tt.want) {
				t.Errorf("architectures %q, want %q", got, tt.want)
			}
		})
	}
}

// debianArch is the Debian name of this machine's architecture, which a
// freshly built image declares.
func debianArch() string {
	switch runtime.GOARCH {
	case "arm":
		return "armhf"
	case "ppc64le":
		return "ppc64el"
	}
	return runtime.GOARCH
}

func TestArchImage(t *testing.T) {
	needDocker(t)
	w := newWorld(t)
	id := buildImage(t, 71, layerSpec{size: 1000, random: true})

	res, remote := w.uploadImage(t, id)
	if res.code != 0 || remote == "" {
		t.Fatalf("from the daemon: %s", res)
	}
	want := []string{debianArch()}
	if got := w.lastArchs(t, "my-image"); !slices.Equal(got, want) {
		t.Errorf("from the daemon: architectures %q, want the image's %q", got, want)
	}

	// Reused from the registry with no daemon at all: the architecture
	// is read from the image's config there.
	res, _ = w.uploadImage(t, remote, "DOCKER_HOST=unix:///nonexistent/docker.sock")
	if res.code != 0 || !strings.Contains(res.stderr, "Using the OCI image from Canonical's registry") {
		t.Fatalf("from the registry: %s", res)
	}
	if got := w.lastArchs(t, "my-image"); !slices.Equal(got, want) {
		t.Errorf("from the registry: architectures %q, want the image's %q", got, want)
	}
}
