package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// TestSetResourceArchitectures corrects the architectures of two file
// revisions through the docker CLI, then lists them as resource-revisions
// shows them.
func TestSetResourceArchitectures(t *testing.T) {
	w := newWorld(t)
	path, _ := writeFile(t, "tools.tar.gz", 1000)
	for range 3 {
		if res := dockerCmd(t, w.env(ownerToken), "charmcraft", "upload-resource", "my-charm", "my-file", "--filepath", path); res.code != 0 {
			t.Fatalf("upload: %s", res)
		}
	}
	res := dockerCmd(t, w.env(collabToken), "charmcraft", "set-resource-architectures", "my-charm", "my-file", "--revision=1", "--revision=3", "arm64,riscv64")
	table := regexp.MustCompile(`^Revision +Updated At +Architectures\n3 +\S+Z +arm64,riscv64\n1 +\S+Z +arm64,riscv64\n$`)
	if res.code != 0 || res.stderr != "2 revision(s) updated.\n" || !table.MatchString(res.stdout) {
		t.Fatalf("%s", res)
	}
	res = dockerCmd(t, w.env(ownerToken), "charmcraft", "resource-revisions", "my-charm", "my-file")
	archs := regexp.MustCompile(`(?m)^(\d) .* (\S+)$`).FindAllStringSubmatch(res.stdout, -1)
	if len(archs) != 3 || archs[0][2] != "arm64,riscv64" || archs[1][2] != "all" || archs[2][2] != "arm64,riscv64" {
		t.Errorf("resource-revisions after the update: %s", res)
	}

	res = dockerCmd(t, w.env(strangerToken), "charmcraft", "set-resource-architectures", "my-charm", "my-file", "--revision=2", "amd64")
	if res.code != 1 || !strings.Contains(res.stderr, "only the owner or a collaborator of charm 'my-charm' may change its resources") {
		t.Errorf("a stranger: %s", res)
	}
}
