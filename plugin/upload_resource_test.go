package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUploadResourceRefusesBadInput checks each refusal of upload-resource
// that needs no network: one sentence on stderr (no usage, no stack),
// nothing on stdout, and no request to Charmhub.
func TestUploadResourceRefusesBadInput(t *testing.T) {
	hub := newHub(t)
	dir := t.TempDir()
	file := writeTestFile(t, "data.bin", 10)
	long := strings.Repeat("a", 64)
	type refusal struct {
		name   string
		args   []string
		stderr string
	}
	tests := []refusal{
		{"neither option", nil, "give exactly one of --filepath (for a file resource) or --image (for an OCI image resource)"},
		{"both options", []string{"--filepath", file, "--image", "70aa8983ec5c"}, "give only one of --filepath or --image, not both"},
		{"missing file", []string{"--filepath", filepath.Join(dir, "nope")}, "--filepath " + quotePath(filepath.Join(dir, "nope")) + ": no such file"},
		{"directory", []string{"--filepath", dir}, "--filepath " + quotePath(dir) + " is a directory: give the path of a regular file"},
		{"bad format", []string{"--filepath", file, "--format", "yaml"}, `--format "yaml" is not supported: the only format is "json"`},
		{"bad progress", []string{"--filepath", file, "--progress", "fancy"}, `--progress "fancy" is not supported: use auto, tty, plain, quiet`},
		{"arch with image", []string{"--image", "70aa8983ec5c", "--arch", "amd64"}, "--arch cannot be used with --image"},
		{"bad arch", []string{"--filepath", file, "--arch", "x86_64"}, `--arch "x86_64": unknown architecture "x86_64"`},
		{"tag", []string{"--image", "redis:latest"}, `--image "redis:latest" includes a tag`},
		{"name and digest", []string{"--image", "redis@sha256:" + long}, `--image "redis@sha256:` + long + `" includes an image name`},
		{"registry", []string{"--image", "docker.io/library/redis@sha256:" + long}, "names a registry"},
		{"url", []string{"--image", "https://registry.jujucharms.com/x"}, "is a URL"},
		{"algorithm", []string{"--image", "sha512:" + long + long}, "only sha256 digests are supported"},
		{"too short", []string{"--image", "70aa89"}, "is too short for an image ID prefix"},
		{"bad hex", []string{"--image", "sha256:" + strings.Repeat("g", 64)}, "after sha256: only hex characters (0-9, a-f) may follow"},
		{"name", []string{"--image", "myimage"}, `--image "myimage" is an image name`},
		{"go arch name", []string{"--filepath", file, "--arch", "amd64,ppc64le"}, `Charmhub calls ppc64le "ppc64el"`},
		{"go arm", []string{"--filepath", file, "--arch", "arm"}, `Charmhub calls arm "armhf"`},
		{"all with others", []string{"--filepath", file, "--arch", "all,amd64"}, `"all" stands alone`},
		{"empty arch item", []string{"--filepath", file, "--arch", "amd64,,arm64"}, "has an empty item"},
	}
	if haveFifo {
		fifo := filepath.Join(dir, "fifo")
		if err := mkfifo(fifo); err != nil {
			t.Fatal(err)
		}
		tests = append(tests, refusal{"not regular", []string{"--filepath", fifo}, "is not a regular file"})
	}
	if os.Geteuid() != 0 { // root reads anything
		unreadable := writeTestFile(t, "secret.bin", 10)
		if err := os.Chmod(unreadable, 0); err != nil {
			t.Fatal(err)
		}
		tests = append(tests, refusal{"unreadable", []string{"--filepath", unreadable}, "permission denied"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"upload-resource", "my-charm", "my-file"}, tt.args...)
			res := run(t, hubEnv(hub, ownerToken), args...)
			if res.code != 1 || res.stdout != "" || !strings.Contains(res.stderr, tt.stderr) || strings.Count(res.stderr, "\n") != 1 {
				t.Errorf("want one sentence with %q: %s", tt.stderr, res)
			}
			if strings.Contains(res.stderr, "Usage:") || strings.Contains(res.stderr, "goroutine ") {
				t.Errorf("the refusal shows usage or a stack: %s", res)
			}
		})
	}
	if n := len(hub.Requests()); n != 0 {
		t.Errorf("Charmhub got %d requests for refused input", n)
	}
}

// TestImageForAFileResource refuses --image for a file resource once
// Charmhub says which type the resource is, before the daemon is asked.
func TestImageForAFileResource(t *testing.T) {
	hub := newHub(t)
	res := run(t, hubEnv(hub, ownerToken), "upload-resource", "my-charm", "my-file", "--image", "sha256:"+strings.Repeat("ab", 32))
	want := "resource 'my-file' of charm 'my-charm' is a file resource: upload it with --filepath, not --image\n"
	if res.code != 1 || res.stderr != want {
		t.Errorf("want %q: %s", want, res)
	}
}
