package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnvNamesHaveOneHome keeps every environment variable's name in
// env.go, where a reader looks for what the plugin reads.
func TestEnvNamesHaveOneHome(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f == "env.go" || strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			if strings.Contains(line, `"CHARMCRAFT_`) {
				t.Errorf("%s:%d names a variable outside env.go: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}
