package plugin

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/imagepush"
	"github.com/moby/moby/client"
)

// TestImageError checks the sentences said when imagepush finds the image
// nowhere, or ambiguously, or cannot reach the daemon.
func TestImageError(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	full, short := imagepush.Ref{Hex: hex, Full: true}, imagepush.Ref{Hex: hex[:12]}
	// A real client of a socket nobody listens on: the daemon is not there.
	dc, err := client.New(client.WithHost("unix://" + t.TempDir() + "/none.sock"))
	if err != nil {
		t.Fatal(err)
	}
	_, unreachable := imagepush.Push(t.Context(), dc, nil, short) // a short ID asks the daemon first
	notFound := func(r imagepush.Ref) error {
		return &imagepush.LookupError{Ref: r, Err: fmt.Errorf("%w: no local image matches %s", imagepush.ErrNotFound, r)}
	}
	other := errors.New("registry answered 401")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"unreachable, short", unreachable, "a short digest must be looked up in the local Docker daemon, which cannot be reached (cannot reach the Docker daemon: "},
		{"unreachable, full", &imagepush.LookupError{Ref: full, Err: errors.Unwrap(unreachable)}, "image sha256:" + hex + " is not in Canonical's registry for charm 'my-charm', and the local Docker daemon cannot be reached to take it from there (cannot reach the Docker daemon: "},
		{"not found, full", notFound(full), "image sha256:" + hex + " was found neither in Canonical's registry for charm 'my-charm' nor in the local Docker daemon; check the digest with `docker images --digests --no-trunc`"},
		{"not found, short", notFound(short), "no local image ID starts with " + hex[:12] + "; check it with `docker images`, or give the full sha256 digest of an image already in Canonical's registry"},
		{"ambiguous", &imagepush.AmbiguousError{Ref: short, Images: map[string][]string{"sha256:" + hex: {"a:1"}, "sha256:" + hex[:12] + "00": nil}},
			"--image " + hex[:12] + " matches 2 local images; give more hex characters to choose one of:\n  sha256:" + hex[:12] + "00\n  sha256:" + hex + " (a:1)"},
		{"the daemon stalls", &imagepush.DaemonStallError{Idle: time.Minute, Doing: "exporting image sha256:" + hex},
			"the Docker daemon sent nothing for 1m0s while exporting image sha256:" + hex + "; check that it is not stuck (`docker info`), or give it longer with CHARMCRAFT_STALL_TIMEOUT"},
		{"other errors pass", other, "registry answered 401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := imageError(tt.err, "my-charm").Error()
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("got  %q\nwant %q...", got, tt.want)
			}
		})
	}
	if !errors.Is(imageError(unreachable, "my-charm"), imagepush.ErrDaemonUnreachable) {
		t.Error("the sentence lost ErrDaemonUnreachable, which the error output relies on")
	}
}
