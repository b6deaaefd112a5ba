package testutil

import (
	"strings"
	"testing"
)

// NoSecrets fails t if output shows any of the secrets ("" is none).
func NoSecrets(t testing.TB, output string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(output, s) {
			t.Errorf("the output shows a secret (%.4s...):\n%s", s, output)
		}
	}
}
