package imagepush

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/canonical/docker-charmcraft/dockersave"
	"github.com/canonical/docker-charmcraft/internal/transport"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/opencontainers/go-digest"
)

// Source is the docker save stream of one image, which can be opened
// again: exporting the image again is opening it again.
type Source interface {
	Open(ctx context.Context) (io.ReadCloser, error)
}

// DaemonSource is the docker save of image id, of size bytes, from d. An
// export that sends nothing for idle (transport.DefaultStallTimeout if
// idle <= 0) after a byte, or before its first byte for idle plus a
// second for each whole exportRate bytes of the image (the classic store
// writes the whole image to disk before it sends anything), fails with a
// *DaemonStallError.
func DaemonSource(d Daemon, id digest.Digest, size int64, idle time.Duration) Source {
	if idle <= 0 {
		idle = transport.DefaultStallTimeout
	}
	first := idle + time.Duration(max(size, 0)/exportRate)*time.Second
	return daemonSource{d, id, first, idle}
}

// exportRate is the slowest a daemon is expected to write an image to
// disk, in bytes a second: a slow disk's.
const exportRate = 20_000_000

type daemonSource struct {
	d           Daemon
	id          digest.Digest
	first, idle time.Duration
}

func (s daemonSource) Open(ctx context.Context) (io.ReadCloser, error) {
	ctx, w, stop := watch(ctx, s.first, s.idle, "exporting image "+s.id.String())
	r, err := s.d.ImageSave(ctx, []string{s.id.String()})
	stall := w.stalled()
	if err == nil && stall == nil {
		return w.reader(r, stop), nil
	}
	stop()
	if r != nil {
		_ = r.Close()
	}
	if stall != nil {
		return nil, stall // the daemon's silence, not a question about local images
	}
	return nil, daemonError(err)
}

// build reads the image out of its source and runs dockersave.Build on it,
// pushing to store; progress shows its layers.
func (p *pusher) build(ctx context.Context, j *job, store dockersave.BlobStore, progress bool) (*dockersave.Result, error) {
	img := j.img
	save, err := j.src.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = save.Close() }()
	opts := []dockersave.Option{dockersave.WithImage(img.ID, img.DiffIDs), dockersave.WithCompressor(p.opts.compressor)}
	if c := p.opts.cache; c != nil {
		opts = append(opts, dockersave.WithCache(c))
	}
	if progress && p.opts.layerProgress != nil {
		opts = append(opts, dockersave.WithProgress(p.opts.layerProgress()))
	}
	res, err := dockersave.Build(ctx, save, store, opts...)
	if err != nil {
		return nil, exportError(img.ID, err)
	}
	if c := p.opts.cache; c != nil && res.Config.Digest == img.ID {
		c.PutConfigSize(img.ID, res.Config.Size)
	}
	return res, nil
}

// pushBuild runs build, pushing to the registry. A blob upload broken
// midway goes on in its session (see registry.PushBlobStream); one whose
// session the registry lost needs the layer from its start, which the
// docker save stream it was read from cannot give again, but the source
// can be opened again: pushBuild then starts over, and the blobs the
// registry got in full are not sent twice.
func (p *pusher) pushBuild(ctx context.Context, j *job) (*dockersave.Result, error) {
	return exportAgain(ctx, p, func() (*dockersave.Result, error) { return p.buildParallel(ctx, j) })
}

// exportAgain runs push, an export of the image and the push of what it
// reads, again while a blob upload breaks midway (registry.ErrInterrupted),
// up to the export attempts allowed, telling each new attempt.
func exportAgain[T any](ctx context.Context, p *pusher, push func() (T, error)) (T, error) {
	var zero T
	attempts := p.opts.exportAttempts
	for attempt := 1; ; attempt++ {
		res, err := push()
		if err == nil || !errors.Is(err, registry.ErrInterrupted) || ctx.Err() != nil {
			return res, err
		}
		if attempt == attempts {
			return zero, fmt.Errorf("%w; gave up after %d exports", err, attempt)
		}
		p.emit(Event{Kind: ExportingAgain, Attempt: attempt + 1, Attempts: attempts, Err: err})
		if err := transport.Sleep(ctx, time.Duration(attempt)*time.Second); err != nil {
			return zero, err
		}
	}
}
