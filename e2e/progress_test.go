package e2e

import (
	"regexp"
	"strings"
	"testing"
)

const ansiEscape = "\x1b["

func TestProgressFile(t *testing.T) {
	w := newWorld(t)
	path, _ := writeFile(t, "data.bin", 3<<20)
	tests := []struct {
		name     string
		progress []string
		check    func(t *testing.T, stderr string)
	}{
		{name: "auto off a terminal is plain", progress: nil, check: plain},
		{name: "plain", progress: []string{"--progress", "plain"}, check: plain},
		{name: "tty", progress: []string{"--progress=tty"}, check: func(t *testing.T, stderr string) {
			if !strings.Contains(stderr, "\r"+ansiEscape+"2Kdata.bin: Uploading [") || !strings.Contains(stderr, "/3.146MB") {
				t.Errorf("no bar redrawn in place: %q", stderr)
			}
			if !strings.HasSuffix(stderr, "\r"+ansiEscape+"2Kdata.bin: Uploaded\n") {
				t.Errorf("the bar does not end with Uploaded: %q", stderr)
			}
		}},
		{name: "quiet", progress: []string{"--progress", "quiet"}, check: func(t *testing.T, stderr string) {
			if stderr != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"charmcraft", "upload-resource", "my-charm", "my-file", "--filepath", path}, tt.progress...)
			res := dockerCmd(t, w.env(ownerToken), args...)
			if res.code != 0 || !strings.HasPrefix(res.stdout, "Revision ") || strings.Count(res.stdout, "\n") != 1 {
				t.Fatalf("want only the result on stdout: %s", res)
			}
			tt.check(t, res.stderr)
		})
	}
}

// plain is one line per change of state, and nothing drawn in place.
func plain(t *testing.T, stderr string) {
	t.Helper()
	if stderr != "data.bin: Uploading 3.15MB\ndata.bin: Uploaded\n" {
		t.Errorf("stderr = %q, want one line per change", stderr)
	}
}

func TestProgressRefusedValue(t *testing.T) {
	path, _ := writeFile(t, "data.bin", 10)
	res := dockerCmd(t, []string{"CHARMCRAFT_AUTH=" + exportedAuth("tok", false), "CHARMCRAFT_STORE_API_URL=http://127.0.0.1:1"},
		"charmcraft", "upload-resource", "my-charm", "my-file", "--filepath", path, "--progress", "fancy")
	if res.code != 1 || !strings.Contains(res.stderr, `--progress "fancy" is not supported: use auto, tty, plain, quiet`) || strings.Contains(res.stderr, "127.0.0.1") {
		t.Fatalf("got %s", res)
	}
}

var layerLineRE = regexp.MustCompile(`(?m)^[0-9a-f]{12}: (Preparing|Pushing|Pushed|Layer already exists)$`)

func TestProgressImage(t *testing.T) {
	needDocker(t)
	w := newWorld(t)
	id := buildImage(t, 61, layerSpec{size: 3 << 20, random: true}, layerSpec{size: 100, random: false})

	res, remote := w.uploadImage(t, id)
	if res.code != 0 || remote == "" {
		t.Fatalf("upload: %s", res)
	}
	// Off a terminal, auto is plain: one line per layer and state.
	lines := layerLineRE.FindAllString(res.stderr, -1)
	if len(lines) < 4 || strings.Contains(res.stderr, ansiEscape) {
		t.Errorf("plain progress: want Preparing and Pushed lines per layer, no escapes; got %q", res.stderr)
	}
	for _, state := range []string{": Preparing\n", ": Pushing\n", ": Pushed\n"} {
		if !strings.Contains(res.stderr, state) {
			t.Errorf("plain progress lacks %q: %q", state, res.stderr)
		}
	}

	// A second push of the same image is warm (nothing to show): push to
	// a world of its own.
	fresh := newWorld(t)
	res = dockerCmd(t, fresh.env(ownerToken), "charmcraft", "upload-resource", "my-charm", "my-image", "--image", id, "--progress", "tty")
	if res.code != 0 {
		t.Fatalf("tty: %s", res)
	}
	if !strings.Contains(res.stderr, ": Pushing [") || !strings.Contains(res.stderr, ansiEscape+"2A") {
		t.Errorf("tty progress: want bars redrawn over the two layer lines; got %q", res.stderr)
	}

	res = dockerCmd(t, w.env(ownerToken), "charmcraft", "upload-resource", "my-charm", "my-image", "--image", id, "--progress", "quiet")
	if res.code != 0 || layerLineRE.MatchString(res.stderr) || strings.Contains(res.stderr, ansiEscape) {
		t.Errorf("quiet: want no layer lines; got %s", res)
	}
	if res.stdout != "Revision 2 created of resource 'my-image' for charm 'my-charm'\n" {
		t.Errorf("stdout = %q", res.stdout)
	}
}
