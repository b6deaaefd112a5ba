package registry_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the package a library: no command-line or Docker
// CLI code, and none of the packages that use it.
func TestDependencies(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.CommandContext(t.Context(), goTool, "list", "-deps", "-f", "{{.ImportPath}}", ".").Output() //nolint:gosec // the go tool found on PATH
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{
			"github.com/spf13/cobra", "github.com/docker/cli", "github.com/moby/",
			"github.com/canonical/docker-charmcraft/plugin", "github.com/canonical/docker-charmcraft/charmhub",
			"github.com/canonical/docker-charmcraft/manifest", "github.com/distribution/",
		} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("registry depends on %s", dep)
			}
		}
	}
}
