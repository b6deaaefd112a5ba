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

// TestPlainLeavesOutAttempts: a service's answer is told as it came, but
// how many times the request was sent is for --debug only.
func TestPlainLeavesOutAttempts(t *testing.T) {
	cause := errors.New("registry answered 503 service unavailable to HEAD /v2/x/manifests/sha256:ab")
	err := fmt.Errorf("asking Canonical's registry for sha256:ab: %w (after 15 attempts)", cause)
	for _, debug := range []bool{false, true} {
		got := (&cliEnv{debug: debug}).plain(err)
		if !errors.Is(got, cause) {
			t.Errorf("debug %v: %v lost its cause", debug, got)
		}
		if shown := strings.Contains(got.Error(), "(after 15 attempts)"); shown != debug {
			t.Errorf("debug %v: %q", debug, got)
		}
		if !strings.Contains(got.Error(), "registry answered 503 service unavailable") {
			t.Errorf("debug %v: the answer is gone: %q", debug, got)
		}
	}
}

// TestCauseThenHints: an error the user can act on is told as docker
// tells one: the cause alone on its first line, then what to do on lines
// of their own, each a sentence; the error it stands for stays in the
// chain.
func TestCauseThenHints(t *testing.T) {
	cause := errors.New("charm 'my-charm' was not found on Charmhub (404 Not Found)")
	err := hint(cause, "Check the name, and that the charm is registered.")
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 || lines[0] != cause.Error() || lines[1] != "Check the name, and that the charm is registered." {
		t.Errorf("got %q", err.Error())
	}
	if !errors.Is(err, cause) {
		t.Errorf("%v does not wrap its cause", err)
	}
	for _, fromEnv := range []bool{false, true} {
		msg := (&credentialsError{details: "macaroon-needs-refresh", fromEnv: fromEnv}).Error()
		first, rest, ok := strings.Cut(msg, "\n")
		if !ok || strings.Contains(first, "login") || !strings.HasSuffix(first, "they are invalid or expired") || !strings.HasSuffix(rest, ".") {
			t.Errorf("fromEnv %v: got %q", fromEnv, msg)
		}
	}
}
