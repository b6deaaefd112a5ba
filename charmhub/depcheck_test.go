package charmhub_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the library callable on its own: no command
// line or Docker CLI code may creep in.
func TestDependencies(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", ".", "./charmhubtest").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/spf13/cobra", "github.com/docker/cli", "github.com/canonical/docker-charmcraft/plugin"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("charmhub depends on %s", dep)
			}
		}
	}
}
