package plugin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/canonical/docker-charmcraft/internal/transport"
	"github.com/canonical/docker-charmcraft/manifest"
	"github.com/canonical/docker-charmcraft/registry"
)

// exportAttempts is how many times an image is exported from the daemon
// and pushed, when a blob upload breaks midway.
const exportAttempts = 3

// pushBuild runs build, pushing to the registry. A blob upload broken
// midway (a reset or stalled connection, a 5xx) cannot be sent again from
// the docker save stream it was read from, but the daemon can export the
// image again: pushBuild then starts over, and the blobs the registry got
// in full are not sent twice.
func (p *imagePush) pushBuild(ctx context.Context) (*manifest.Result, error) {
	for attempt := 1; ; attempt++ {
		res, err := p.build(ctx, blobStore{p.reg}, true)
		if err == nil || !errors.Is(err, registry.ErrInterrupted) || ctx.Err() != nil {
			return res, err
		}
		if attempt == exportAttempts {
			return nil, fmt.Errorf("%w; gave up after %d exports", err, attempt)
		}
		p.out.info("The upload was interrupted; exporting the image again (attempt %d of %d)", attempt+1, exportAttempts)
		p.env.debugf("export %d of %d failed: %v", attempt, exportAttempts, err)
		if err := transport.Sleep(ctx, time.Duration(attempt)*time.Second); err != nil {
			return nil, err
		}
	}
}
