package e2e

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

const ansiEscape = "\x1b["

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
	// A layer ends under the ID docker push gives it: its diff ID on the
	// classic store (whose save names it otherwise), the stored blob's
	// digest on the containerd store, where the blobs are pushed as they
	// are.
	inspect := dockerCmd(t, nil, "image", "inspect", "--format", "{{range .RootFS.Layers}}{{.}} {{end}}", id)
	var diffIDs []string
	for _, l := range strings.Fields(inspect.stdout) {
		diffIDs = append(diffIDs, strings.TrimPrefix(l, "sha256:")[:12])
	}
	if containerdStore(t) {
		diffIDs = diffIDs[:0]
		for _, l := range w.pull(t, imageRepo, remote).manifest.Layers {
			diffIDs = append(diffIDs, strings.TrimPrefix(l.Digest, "sha256:")[:12])
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^([0-9a-f]{12}): Pushed$`).FindAllStringSubmatch(res.stderr, -1) {
		if !slices.Contains(diffIDs, m[1]) {
			t.Errorf("layer %s pushed, not one of the image's layers %v: %q", m[1], diffIDs, res.stderr)
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
