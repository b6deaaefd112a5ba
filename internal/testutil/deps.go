package testutil

import (
	"os/exec"
	"strings"
	"testing"
)

// Deps returns the import paths pkgs depend on (go list -deps), to check
// that a library does not pull in what it must not. It skips the test only
// when there is no go command; a failing go list fails it.
func Deps(t *testing.T, pkgs ...string) []string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}}"}, pkgs...)
	out, err := exec.CommandContext(t.Context(), goTool, args...).Output() //nolint:gosec // the go tool found on PATH
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	return strings.Fields(string(out))
}
