package plugin

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/imagepush"
)

// TestSocketDenied: a Docker socket this user may not open is told as
// such, not as a daemon to start.
func TestSocketDenied(t *testing.T) {
	// The docker client's words for it.
	denied := errors.New("permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get \"http://%2Fvar%2Frun%2Fdocker.sock/v1.45/images/json\": dial unix /var/run/docker.sock: connect: permission denied")
	err := imageError(&imagepush.LookupError{Ref: imagepush.Ref{Hex: "70aa8983ec5c"}, Err: fmt.Errorf("%w: %w", imagepush.ErrDaemonUnreachable, denied)}, "my-charm")
	if msg := err.Error(); !strings.Contains(msg, "permission denied on its socket") || strings.Contains(msg, "start Docker") || !strings.Contains(msg, "docker group") {
		t.Errorf("got %q", msg)
	}
}
