package imagepush

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/canonical/docker-charmcraft/manifest"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
)

// DaemonTarget is where the Docker daemon pushes an image for Push, when
// it can (see WithDaemonPush): the registry, the repository and the
// charm's upload credentials.
type DaemonTarget struct {
	// Registry is the registry's base URL; it must have no path.
	Registry *url.URL
	// Repository is the path of the charm's repository:
	// charm/<charm id>/<resource>.
	Repository         string
	Username, Password string
	// Transport reaches the registry, for the relay (see relay); nil is
	// http.DefaultTransport.
	Transport http.RoundTripper
}

// pushingDaemon is what a daemon push needs of the Docker daemon, beyond
// Daemon: the moby client has it, a test's stand-in need not.
type pushingDaemon interface {
	ImageTag(ctx context.Context, options client.ImageTagOptions) (client.ImageTagResult, error)
	ImagePush(ctx context.Context, image string, options client.ImagePushOptions) (client.ImagePushResponse, error)
	ImageRemove(ctx context.Context, image string, options client.ImageRemoveOptions) (client.ImageRemoveResult, error)
	DaemonHost() string
}

// Strategy names, as Result.Strategy gives them.
const (
	StrategyDaemonPush = "daemon push"
	StrategyExport     = "export"
)

// errMissingContent is the daemon refusing to push an index whose content
// it holds only in part.
var errMissingContent = errors.New("the Docker daemon lacks part of the image's content")

// pushByDaemon has the daemon push a containerd-store image itself: it
// reads its content store and sends layers in parallel, which no export
// can match (docker save is one stream). A daemon on this machine pushes
// through a relay (see relay); one that cannot reach it (Docker Desktop's,
// in a VM), or a remote one, pushes to the registry directly, unless the
// registry is on this machine's loopback. It returns why no push
// succeeded (the caller then exports the image), or errMissingContent
// when the daemon lacks some of the image.
func (p *pusher) pushByDaemon(ctx context.Context, j *job) error {
	d, t, err := p.daemonPusher(j.img)
	if err != nil {
		return err
	}
	var errs []error
	if localDaemon(d.DaemonHost()) {
		r, err := startRelay(ctx, t.Registry, t.Transport)
		if err != nil {
			return fmt.Errorf("starting the relay to the registry: %w", err)
		}
		err = p.pushVia(ctx, d, j, r.host, t)
		r.close()
		if err == nil || errors.Is(err, errMissingContent) || ctx.Err() != nil {
			return err
		}
		errs = append(errs, fmt.Errorf("through the relay at %s: %w", r.host, err))
	}
	if host := t.Registry.Host; !loopback(host) {
		err := p.pushVia(ctx, d, j, host, t)
		if err == nil || errors.Is(err, errMissingContent) {
			return err
		}
		errs = append(errs, fmt.Errorf("to %s: %w", host, err))
	}
	if len(errs) == 0 {
		return fmt.Errorf("the registry is on this machine's loopback (%s), which the Docker daemon at %s does not share", t.Registry.Host, d.DaemonHost())
	}
	return errors.Join(errs...)
}

// pushVia has the daemon push the image to the registry as host names
// it. The image gets a temporary local tag in the charm's repository,
// always removed after; in the registry that tag stays, and names the
// image (it is the image's RecordTag).
func (p *pusher) pushVia(ctx context.Context, d pushingDaemon, j *job, host string, t *DaemonTarget) error {
	ref := host + "/" + t.Repository + ":" + RecordTag(j.img.ID)
	if _, err := d.ImageTag(ctx, client.ImageTagOptions{Source: j.img.ID.String(), Target: ref}); err != nil {
		return fmt.Errorf("tagging the image %s: %w", ref, err)
	}
	defer func() {
		rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), daemonTimeout)
		defer cancel()
		if _, err := d.ImageRemove(rmCtx, ref, client.ImageRemoveOptions{}); err != nil {
			p.emit(Event{Kind: TagNotRemoved, Tag: ref, Err: err})
		}
	}()
	auth, err := encodeAuth(t, host)
	if err != nil {
		return err
	}
	resp, err := d.ImagePush(ctx, ref, client.ImagePushOptions{RegistryAuth: auth})
	if err != nil {
		return fmt.Errorf("the Docker daemon did not push: %w", err)
	}
	if err := p.followPush(ctx, resp); err != nil {
		if strings.Contains(err.Error(), "missing content") {
			return fmt.Errorf("%w: %w", errMissingContent, err)
		}
		return fmt.Errorf("the Docker daemon's push failed: %w", err)
	}
	exists, err := p.reg.ManifestExists(ctx, j.img.ID)
	switch {
	case err != nil:
		return registryError(j.img.ID, err)
	case !exists:
		return fmt.Errorf("the Docker daemon pushed %s, but Canonical's registry does not hold it: the daemon reached another registry", ref)
	}
	return nil
}

// daemonPusher is the daemon and the target of a daemon push, or why
// there is none.
func (p *pusher) daemonPusher(img *LocalImage) (pushingDaemon, *DaemonTarget, error) {
	t := p.opts.daemonTarget
	if t == nil {
		return nil, nil, errors.New("no target given for the Docker daemon to push to")
	}
	d, ok := p.daemon.(pushingDaemon)
	if !ok {
		return nil, nil, errors.New("this Docker daemon client cannot push")
	}
	named := false
	for _, tag := range img.Tags {
		named = named || !strings.Contains(tag, ":"+recordPrefix)
	}
	if !named {
		// On the containerd store, removing an image's last tag deletes it.
		return nil, nil, errors.New("the image has no tag: the temporary tag would be its only name, and removing it would delete the image")
	}
	return d, t, nil
}

// followPush reads the daemon's push messages to the end, showing layer
// progress, and returns the error the daemon reports, if any.
func (p *pusher) followPush(ctx context.Context, resp client.ImagePushResponse) error {
	defer func() { _ = resp.Close() }()
	var show func(manifest.Event)
	if p.opts.layerProgress != nil {
		show = p.opts.layerProgress()
	}
	for m, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return err
		}
		if m.Error != nil {
			return errors.New(m.Error.Message)
		}
		if show == nil || m.ID == "" {
			continue
		}
		e := manifest.Event{Name: m.ID}
		switch {
		case m.Status == "Preparing" || m.Status == "Waiting":
			e.Kind = manifest.Preparing
		case m.Status == "Pushing" && m.Progress != nil:
			e.Kind, e.Done, e.Total = manifest.Pushing, m.Progress.Current, m.Progress.Total
		case m.Status == "Pushed":
			e.Kind = manifest.Pushed
		case m.Status == "Layer already exists" || strings.HasPrefix(m.Status, "Mounted from"):
			e.Kind = manifest.Exists
		default:
			continue
		}
		show(e)
	}
	return nil
}

// encodeAuth is the X-Registry-Auth header of the push: the charm's
// upload credentials, which the daemon trades for a token.
func encodeAuth(t *DaemonTarget, host string) (string, error) {
	b, err := json.Marshal(registry.AuthConfig{Username: t.Username, Password: t.Password, ServerAddress: host}) //nolint:gosec // the X-Registry-Auth header carries it to the daemon, by design
	if err != nil {
		return "", err
	}
	return base64.URLEncoding.EncodeToString(b), nil
}

// loopback tells whether host[:port] is this machine's loopback, which
// only a daemon on this machine shares.
func loopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// localDaemon tells whether the daemon at host (DOCKER_HOST's form) runs
// on this machine: a socket or named pipe, or TCP to the loopback.
// (Docker Desktop's socket leads to a VM, whose loopback is not ours: its
// push to a loopback registry fails, and the image is exported instead.)
func localDaemon(host string) bool {
	u, err := url.Parse(host)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "unix", "npipe":
		return true
	case "tcp", "http", "https":
		return loopback(u.Host)
	}
	return false
}
