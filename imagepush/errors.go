package imagepush

import (
	"errors"
	"fmt"

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
