package registry_test

import (
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/testutil"
)

// TestDependencies keeps the package a library: no command-line or Docker
// CLI code, and none of the packages that use it.
func TestDependencies(t *testing.T) {
	for _, dep := range testutil.Deps(t, ".") {
		for _, banned := range []string{
			"github.com/spf13/cobra", "github.com/docker/cli", "github.com/moby/",
			"github.com/canonical/docker-charmcraft/plugin", "github.com/canonical/docker-charmcraft/charmhub",
			"github.com/canonical/docker-charmcraft/dockersave", "github.com/distribution/",
		} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("registry depends on %s", dep)
			}
		}
	}
}
