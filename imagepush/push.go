package imagepush

import (
	"context"
	"errors"
	"fmt"

	"github.com/canonical/docker-charmcraft/manifest"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/opencontainers/go-digest"
)

// The registry client is what manifest.Build pushes to, as it is.
var _ manifest.BlobStore = (*registry.Client)(nil)

// Ref is what the user named: a full sha256 digest, or the prefix of a
// local image ID.
type Ref struct {
	// Hex is the digest's hex, lowercase: 64 characters when Full, else
	// the prefix given.
	Hex string
	// Full is true when all 64 characters are known.
	Full bool
}

// String is the digest in its sha256:... form (a prefix when not Full).
func (r Ref) String() string { return "sha256:" + r.Hex }

// Result is where the image ended.
type Result struct {
	// Digest is the remote manifest's digest in the registry.
	Digest digest.Digest
	// Local is the image the push took from the daemon; nil when the
	// registry held the image named already.
	Local *LocalImage
}

// Push makes sure reg holds the image ref names, and returns its remote
// manifest. The daemon is asked only when the registry does not hold a
// full digest already. An image the registry lacks and the daemon cannot
// provide fails with a *LookupError; a prefix that matches several local
// images with an *AmbiguousError.
func Push(ctx context.Context, daemon Daemon, reg *registry.Client, ref Ref, opts ...Option) (*Result, error) {
	p := &pusher{daemon: daemon, reg: reg, opts: newOptions(opts)}
	return p.resolve(ctx, ref)
}

// pusher is one run of Push.
type pusher struct {
	daemon Daemon
	reg    *registry.Client
	opts   *options
}

// resolve decides where the image comes from: the registry as it is, or
// the daemon, through pushLocal. It is the one place that orders the
// checks.
func (p *pusher) resolve(ctx context.Context, ref Ref) (*Result, error) {
	if ref.Full {
		d := digest.Digest(ref.String())
		if ok, err := p.reuseRemote(ctx, d); err != nil || ok {
			return reused(d, err)
		}
	}
	img, err := FindLocal(ctx, p.daemon, ref)
	switch {
	case errors.Is(err, ErrDaemonUnreachable):
		return nil, &LookupError{Ref: ref, Err: err}
	case err != nil:
		return nil, err
	case img == nil:
		return nil, &LookupError{Ref: ref, Err: fmt.Errorf("%w: no local image matches %s", ErrNotFound, ref)}
	}
	if !ref.Full {
		if ok, err := p.reuseRemote(ctx, img.ID); err != nil || ok {
			return reused(img.ID, err)
		}
	}
	p.emit(Event{Kind: Uploading})
	d, err := p.pushLocal(ctx, img)
	if err != nil {
		return nil, err
	}
	return &Result{Digest: d, Local: img}, nil
}

// reused is the Result of an image the registry holds as d, or err.
func reused(d digest.Digest, err error) (*Result, error) {
	if err != nil {
		return nil, err
	}
	return &Result{Digest: d}, nil
}

// reuseRemote tells whether the registry holds the manifest d, and says
// it will be used.
func (p *pusher) reuseRemote(ctx context.Context, d digest.Digest) (bool, error) {
	ok, err := p.reg.ManifestExists(ctx, d)
	if ok {
		p.emit(Event{Kind: Reused})
	}
	return ok, registryError(d, err)
}

func (p *pusher) emit(e Event) { p.opts.events(e) }
