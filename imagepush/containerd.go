package imagepush

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/canonical/docker-charmcraft/dockersave"
	"github.com/opencontainers/go-digest"
)

// pushContainerd pushes a containerd-store image, whose ID is the digest
// of its manifest or index, with digests preserved: by the daemon when it
// can (pushByDaemon: the fast way), else from its export (pushExported).
// With platforms chosen, always from its export: a daemon push sends the
// image whole.
func (p *pusher) pushContainerd(ctx context.Context, j *job) (*Result, error) {
	p.emit(Event{Kind: Uploading})
	notByDaemon := errors.New("--platform was given, and a daemon push sends the image whole")
	if len(p.opts.platforms) == 0 {
		err := p.pushByDaemon(ctx, j)
		switch {
		case err == nil:
			p.emit(Event{Kind: Uploaded, Digest: j.img.ID})
			return &Result{Digest: j.img.ID, Local: j.img, Strategy: StrategyDaemonPush}, nil
		case errors.Is(err, errMissingContent):
			// Say what is there and what is not: the export tells, and
			// nothing is sent.
			_, perr := p.planExported(ctx, j)
			var inc *IncompleteError
			if errors.As(perr, &inc) && len(j.img.Tags) > 0 {
				inc.Name = j.img.Tags[0]
			}
			if perr == nil {
				perr = err
			}
			return nil, perr
		case ctx.Err() != nil:
			return nil, ctx.Err()
		}
		notByDaemon = err
	}
	res, err := p.pushExported(ctx, j)
	if err == nil {
		res.Strategy, res.NotByDaemon = StrategyExport, notByDaemon
	}
	return res, err
}

// planExported reads the image's export, sending nothing, and plans its
// push.
func (p *pusher) planExported(ctx context.Context, j *job) (*plan, error) {
	save, err := j.src.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = save.Close() }()
	c, err := readSaved(ctx, save, nil)
	if err != nil {
		return nil, fmt.Errorf("exporting image %s from the Docker daemon: %w", j.img.ID, err)
	}
	return planPush(c, j.img.ID, p.opts.platforms)
}

// pushExported pushes the image from its export, blobs as they stream by.
// With platforms chosen, a first export, sending nothing, plans what to
// push (and refuses a platform that is not there); without, the layers
// are pushed as they come and the plan is made at the end (an index that
// turns out incomplete then had some of its layers sent, but none of its
// manifests). A blob upload broken midway exports the image again, as
// pushBuild does.
func (p *pusher) pushExported(ctx context.Context, j *job) (*Result, error) {
	var pl *plan
	if len(p.opts.platforms) > 0 {
		var err error
		if pl, err = p.planExported(ctx, j); err != nil {
			return nil, err
		}
	}
	return exportAgain(ctx, p, func() (*Result, error) { return p.pushExport(ctx, j, pl) })
}

// pushExport is one export of pushExported: the layers of plan pl (all
// of them when pl is nil) as they stream by, then the JSON blobs and the
// manifests.
func (p *pusher) pushExport(ctx context.Context, j *job, pl *plan) (*Result, error) {
	save, err := j.src.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = save.Close() }()
	var show func(dockersave.Event)
	if p.opts.layerProgress != nil {
		show = p.opts.layerProgress()
	}
	push := func(ctx context.Context, d digest.Digest, size int64, r io.Reader) error {
		if pl != nil && !slices.Contains(pl.blobs, d) {
			return nil
		}
		return p.sendBlob(ctx, d, size, r, show)
	}
	c, err := readSaved(ctx, save, push)
	if err != nil {
		return nil, exportError(j.img.ID, err)
	}
	if pl == nil {
		if pl, err = planPush(c, j.img.ID, nil); err != nil {
			return nil, err
		}
	}
	for _, d := range pl.blobs {
		raw, isJSON := c.json[d]
		switch {
		case !c.has(d):
			return nil, fmt.Errorf("the export of image %s lacks blob %s, which the export before held", j.img.ID, d)
		case isJSON:
			if err := p.sendBlob(ctx, d, int64(len(raw)), bytes.NewReader(raw), nil); err != nil {
				return nil, err
			}
		}
	}
	return p.pushPlanned(ctx, j, pl)
}

// pushPlanned pushes the plan's manifests, each unless the registry has
// it, the image's remote manifest last.
func (p *pusher) pushPlanned(ctx context.Context, j *job, pl *plan) (*Result, error) {
	for i, m := range pl.manifests {
		exists, err := p.reg.ManifestExists(ctx, m.digest)
		if err != nil {
			return nil, registryError(m.digest, err)
		}
		last := i == len(pl.manifests)-1
		if exists {
			if last {
				p.emit(Event{Kind: AlreadyPushed, Digest: m.digest})
			}
			continue
		}
		got, err := p.reg.PushManifest(ctx, m.mediaType, m.raw)
		if err != nil {
			return nil, fmt.Errorf("pushing the image manifest %s to Canonical's registry: %w", m.digest, err)
		}
		if got != m.digest {
			return nil, fmt.Errorf("Canonical's registry stored the manifest as %s, but its digest is %s", got, m.digest)
		}
		if last {
			p.emit(Event{Kind: Uploaded, Digest: m.digest})
		}
	}
	return &Result{Digest: pl.top().digest, Local: j.img, Platforms: pl.platforms}, nil
}

// sendBlob pushes blob d unless the registry has it, showing its progress.
func (p *pusher) sendBlob(ctx context.Context, d digest.Digest, size int64, r io.Reader, show func(dockersave.Event)) error {
	if show == nil {
		show = func(dockersave.Event) {}
	}
	name := d.Encoded()[:12]
	show(dockersave.Event{Kind: dockersave.Preparing, Name: name, Digest: d, Total: size})
	exists, err := p.reg.BlobExists(ctx, d)
	if err != nil {
		return registryError(d, err)
	}
	if exists {
		show(dockersave.Event{Kind: dockersave.Exists, Name: name, Digest: d, Total: size})
		return nil
	}
	pr := &progressReader{r: r, step: func(n int64) {
		show(dockersave.Event{Kind: dockersave.Pushing, Name: name, Digest: d, Done: n, Total: size})
	}}
	if err := p.reg.PushBlob(ctx, pr, size, d); err != nil {
		return fmt.Errorf("pushing blob %s to Canonical's registry: %w", d, err)
	}
	show(dockersave.Event{Kind: dockersave.Pushed, Name: name, Digest: d, Done: size, Total: size})
	return nil
}

// progressReader calls step every MiB read.
type progressReader struct {
	r        io.Reader
	n, shown int64
	step     func(int64)
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.n += int64(n)
	if r.n-r.shown >= 1<<20 {
		r.shown = r.n
		r.step(r.n)
	}
	return n, err
}
