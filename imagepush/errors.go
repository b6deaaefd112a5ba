package imagepush

import (
	"errors"
	"fmt"

	"github.com/canonical/docker-charmcraft/internal/transport"
	"github.com/opencontainers/go-digest"
)

// ErrNotFound means the image named is neither in the registry (when a
// full digest was given) nor in the daemon.
var ErrNotFound = errors.New("image not found")

// LookupError is an image that the daemon could not provide when the
// registry did not hold it: not there (Err matches ErrNotFound), or the
// daemon could not be reached (Err matches ErrDaemonUnreachable).
type LookupError struct {
	// Ref is the image named.
	Ref Ref
	// Err says why.
	Err error
}

func (e *LookupError) Error() string { return e.Err.Error() }
func (e *LookupError) Unwrap() error { return e.Err }

// registryError says which digest the registry was asked about.
func registryError(d digest.Digest, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("asking Canonical's registry for %s: %w", d, err)
}

// exportError says what failed while image id was exported from the
// Docker daemon and pushed: the daemon, unless a service the push went to
// failed.
func exportError(id digest.Digest, err error) error {
	if stall, ok := errors.AsType[*DaemonStallError](err); ok {
		return stall // it says it all
	}
	if _, ok := errors.AsType[*transport.Failure](err); ok {
		return fmt.Errorf("pushing image %s: %w", id, err)
	}
	return fmt.Errorf("exporting image %s from the Docker daemon: %w", id, err)
}
