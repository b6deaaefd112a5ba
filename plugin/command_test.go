package plugin

import (
	"strings"
	"testing"
)

// TestUseNamesTheArguments holds each command's usage line to the
// arguments it takes: as many as the upper-case words after [OPTIONS].
func TestUseNamesTheArguments(t *testing.T) {
	root := NewRootCmd(nil, "test")
	for _, cmd := range root.Commands() {
		if cmd.Hidden || cmd.Args == nil || !strings.Contains(cmd.Use, "[OPTIONS]") {
			continue
		}
		_, after, _ := strings.Cut(cmd.Use, "[OPTIONS]")
		n := 0
		for _, w := range strings.Fields(after) {
			if strings.Trim(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
				break
			}
			n++
		}
		if err := cmd.Args(cmd, make([]string, n)); err != nil {
			t.Errorf("%q refuses %d arguments: %v", cmd.Use, n, err)
		}
		if err := cmd.Args(cmd, make([]string, n+1)); err == nil {
			t.Errorf("%q takes %d arguments", cmd.Use, n+1)
		}
	}
}
