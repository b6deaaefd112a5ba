//go:build linux

package plugin

import (
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/testutil"
)

// TestProgressAutoOnADumbTerminal uploads with stderr on a terminal: auto
// redraws with escape codes, unless TERM=dumb says the terminal cannot
// obey them.
func TestProgressAutoOnADumbTerminal(t *testing.T) {
	hub := newHub(t)
	path := writeTestFile(t, "data.bin", 1<<20)
	for _, term := range []string{"dumb", "xterm"} {
		t.Run(term, func(t *testing.T) {
			controller, terminal := testutil.OpenPTY(t)
			var drawn testutil.SyncBuffer
			done := make(chan error, 1)
			go func() {
				_, err := io.Copy(&drawn, controller)
				done <- err
			}()
			env := hubEnv(hub, ownerToken)
			env["TERM"] = term
			res := runPluginTo(t, env, nil, terminal, pluginName, "upload-resource", "my-charm", "my-file", "--filepath", path)
			_ = terminal.Close()
			if err := <-done; err != nil && !errors.Is(err, syscall.EIO) {
				t.Fatal(err)
			}
			if res.code != 0 {
				t.Fatalf("%s\nterminal:\n%q", res, drawn.String())
			}
			escapes := strings.Contains(drawn.String(), "\x1b[")
			switch {
			case term == "dumb" && (escapes || !strings.Contains(drawn.String(), "data.bin: Uploading 1.049MB\r\n")):
				t.Errorf("TERM=dumb: want plain lines, no escape codes; the terminal got %q", drawn.String())
			case term != "dumb" && !escapes:
				t.Errorf("TERM=%s: want the bar redrawn in place; the terminal got %q", term, drawn.String())
			}
		})
	}
}
