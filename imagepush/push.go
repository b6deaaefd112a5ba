package imagepush

import (
	"context"
	"errors"
	"fmt"

	"github.com/canonical/docker-charmcraft/dockersave"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/opencontainers/go-digest"
)

// The registry client is what dockersave.Build pushes to, as it is.
var _ dockersave.BlobStore = (*registry.Client)(nil)

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
	// Local is the image found in the daemon whose remote manifest Digest
	// is: pushed, or known without an export (its config is the one in the
	// registry, so what inspect says of it holds there). Nil when the
	// registry held the manifest digest named already.
	Local *LocalImage
	// Platforms are those of the images pushed, when they were read from
	// a containerd-store image's export (attestations are none); nil
	// otherwise.
	Platforms []Platform
	// Strategy is how a containerd-store image was pushed:
	// StrategyDaemonPush or StrategyExport; "" otherwise.
	Strategy string
	// NotByDaemon is why the daemon did not push it, when exported.
	NotByDaemon error
}

// Push makes sure reg holds the image ref names, and returns its remote
// manifest. The daemon is asked only when the registry does not hold a
// full digest already. An image the registry lacks and the daemon cannot
// provide fails with a *LookupError; a prefix that matches several local
// images with an *AmbiguousError.
func Push(ctx context.Context, daemon Daemon, reg *registry.Client, ref Ref, opts ...Option) (*Result, error) {
	return newPusher(daemon, reg, opts).resolve(ctx, ref)
}

func newPusher(daemon Daemon, reg *registry.Client, opts []Option) *pusher {
	p := &pusher{daemon: daemon, reg: reg, opts: newOptions(opts)}
	if p.opts.cache != nil {
		// A blob upload killed midway is resumed by the next run.
		p.reg = reg.WithSessions(p.opts.cache)
	}
	return p
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
//
// The daemon is asked first what the digest is, so that the registry is
// never asked for a manifest by the digest of an image config (a classic
// store's image ID): distribution 2 answers that with a 500, not a 404.
// Only a digest the daemon cannot tell about is looked up in the registry
// as it is.
func (p *pusher) resolve(ctx context.Context, ref Ref) (*Result, error) {
	img, err := FindLocal(ctx, p.daemon, ref)
	if err != nil && !errors.Is(err, ErrDaemonUnreachable) {
		return nil, err
	}
	if img == nil {
		if len(p.opts.platforms) > 0 && err == nil {
			return nil, fmt.Errorf("--platform chooses among the platforms of a local image, and no local image matches %s", ref)
		}
		return p.remoteOnly(ctx, ref, err)
	}
	if err := p.checkPlatform(img); err != nil {
		return nil, err
	}
	j := p.newJob(img)
	if d := img.ManifestDigest(); d != "" && (len(p.opts.platforms) == 0 || !img.ManifestID) {
		if ok, err := p.reuseRemote(ctx, d); err != nil || ok {
			return reused(d, err)
		}
	}
	if img.ManifestID {
		// The image's own manifest, or index, is pushed: its ID says where
		// it is, and the registry has no record of it to keep.
		return p.pushContainerd(ctx, j)
	}
	if d, ok, err := p.remembered(ctx, j); err != nil || ok {
		if err != nil {
			return nil, err
		}
		p.emit(Event{Kind: Reused})
		return &Result{Digest: d, Local: img}, nil
	}
	res, err := p.pushNew(ctx, j)
	if err == nil {
		p.writeRecord(ctx, j, j.pushed)
	}
	return res, err
}

// pushNew pushes the image from the daemon, by the first strategy that
// settles it (see pushLocal).
func (p *pusher) pushNew(ctx context.Context, j *job) (*Result, error) {
	p.emit(Event{Kind: Uploading})
	res, err := p.pushLocal(ctx, j)
	if err != nil {
		return nil, err
	}
	j.pushed = res
	return &Result{Digest: res.Digest, Local: j.img}, nil
}

// remembered tells whether the registry holds the remote manifest of a
// classic-store image, known without an export: from the registry's
// record of the image (see RecordTag), else from this machine's cache,
// which is only a hint (the registry is asked). A manifest found through
// the cache is recorded, for the machines that lack it.
func (p *pusher) remembered(ctx context.Context, j *job) (digest.Digest, bool, error) {
	if j.record = p.readRecord(ctx, j.img); j.record != nil {
		p.learn(j, j.record)
		return j.record.digest, true, nil
	}
	ok, err := p.knownRemote(ctx, j)
	if !ok || err != nil {
		return "", false, err
	}
	p.writeRecord(ctx, j, j.cached)
	return j.cached.Digest, true, nil
}

// remoteOnly looks a digest the daemon does not know (or could not be
// asked about: daemonErr) up in the registry, as a manifest digest.
func (p *pusher) remoteOnly(ctx context.Context, ref Ref, daemonErr error) (*Result, error) {
	if ref.Full {
		d := digest.Digest(ref.String())
		if ok, err := p.reuseRemote(ctx, d); err != nil || ok {
			return reused(d, p.notAManifestError(ctx, d, err))
		}
	}
	if daemonErr != nil {
		return nil, &LookupError{Ref: ref, Err: daemonErr}
	}
	return nil, &LookupError{Ref: ref, Err: fmt.Errorf("%w: no local image matches %s", ErrNotFound, ref)}
}

// knownRemote tells whether the registry holds the remote manifest of
// the image as this machine's cache knows it, without an export; it
// remembers a manifest found absent, so that it is not asked for twice.
func (p *pusher) knownRemote(ctx context.Context, j *job) (bool, error) {
	if j.cached == nil {
		return false, nil
	}
	exists, err := p.reg.ManifestExists(ctx, j.cached.Digest)
	if err != nil {
		return false, registryError(j.cached.Digest, err)
	}
	if !exists {
		j.absent = j.cached.Digest
	}
	return exists, nil
}

// notAManifestError explains a server error to a manifest check by a
// digest that the registry holds as a blob: distribution 2 answers 500
// when it finds a config or a layer there, not a manifest.
func (p *pusher) notAManifestError(ctx context.Context, d digest.Digest, err error) error {
	var rerr *registry.Error
	if err == nil || !errors.As(err, &rerr) || rerr.StatusCode < 500 {
		return err
	}
	if blob, berr := p.reg.BlobExists(ctx, d); berr != nil || !blob {
		return err
	}
	return fmt.Errorf("%s is the digest of an image's config or of a layer in Canonical's registry, not of an image manifest (the registry answered %d when asked for it as a manifest); give the local image ID with the Docker daemon that holds the image running, or the image's remote digest (the one `Image uploaded, new remote digest:` showed)", d, rerr.StatusCode)
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
