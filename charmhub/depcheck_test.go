package charmhub_test

import (
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/testutil"
)

// TestDependencies keeps the library callable on its own: no command
// line or Docker CLI code may creep in.
func TestDependencies(t *testing.T) {
	for _, dep := range testutil.Deps(t, ".", "./charmhubtest") {
		for _, banned := range []string{"github.com/spf13/cobra", "github.com/docker/cli", "github.com/canonical/docker-charmcraft/plugin"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("charmhub depends on %s", dep)
			}
		}
	}
}
