package imagepush

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/canonical/docker-charmcraft/dockersave"
	"github.com/canonical/docker-charmcraft/internal/transport"
	"github.com/moby/moby/api/types/jsonstream"
	registrytypes "github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
	"github.com/opencontainers/go-digest"
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
	// PlainDaemon: the Docker daemon is reached over plain TCP on another
	// host (tcp:// without TLS), where the credentials would travel in
	// clear: it does not push.
	PlainDaemon bool
}

// pushingDaemon is what a daemon push needs of the Docker daemon, beyond
// Daemon: the moby client has it, a test's stand-in need not.
type pushingDaemon interface {
	Daemon
	ImageTag(ctx context.Context, options client.ImageTagOptions) (client.ImageTagResult, error)
	ImagePush(ctx context.Context, image string, options client.ImagePushOptions) (client.ImagePushResponse, error)
	ImageRemove(ctx context.Context, image string, options client.ImageRemoveOptions) (client.ImageRemoveResult, error)
	DaemonHost() string
	Ping(ctx context.Context, options client.PingOptions) (client.PingResult, error)
	searcher
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
// can match (docker save is one stream). A Docker 28 daemon pushes to the
// registry directly, unless the registry is on this machine's loopback; a
// daemon on this machine pushes through a relay (see relay) when that
// fails or the daemon is older; one that cannot reach the relay (Docker
// Desktop's, in a VM), or a remote one, pushes to the registry directly.
// It returns why no push succeeded (the caller then exports the image),
// or errMissingContent when the daemon lacks some of the image.
//
// The image's names are the same after as before (see names.go): the
// daemon pushes only an image whose temporary name can be removed alone,
// and the names are checked after.
func (p *pusher) pushByDaemon(ctx context.Context, j *job) error {
	d, t, err := p.daemonPusher()
	if err != nil {
		return err
	}
	if t.PlainDaemon {
		return fmt.Errorf("the Docker daemon at %s is reached over plain TCP, without TLS: the charm's registry credentials are not sent to it", d.DaemonHost())
	}
	id := j.img.ID
	direct := t.Registry.Host + "/" + t.Repository + ":" + RecordTag(id)
	var created []string
	temp := tempNamer(id, t.Repository, direct)
	isTemp := func(name string) bool { return temp(name) || slices.Contains(created, name) }
	if len(j.img.Tags) == 0 {
		return untagSafe(names{}, id, t.Repository) // says why, with no listing
	}
	api := apiVersion(ctx, d)
	byInspect := atLeast(api, inspectNamesAPI)
	// The inspect that found the image told its names, on a daemon whose
	// inspect tells them all.
	all := names{listed: j.img.Tags, tags: j.img.Tags, digests: j.img.Digests}
	if !byInspect {
		var ok bool
		if all, ok, err = readNames(ctx, d, id, false); err != nil || !ok {
			return cmp.Or(err, fmt.Errorf("the Docker daemon no longer lists image %s", id))
		}
	}
	before := all.without(isTemp)
	if err := untagSafe(before, id, t.Repository); err != nil {
		return err
	}
	temps := leftovers(ctx, all, isTemp)
	defer func() { p.removeTemp(ctx, d, id, isTemp, slices.Concat(temps, created), before, byInspect) }()
	host := t.Registry.Host
	pushDirect := func() error {
		return p.pushVia(ctx, d, j, direct, t, func() {
			if !slices.Contains(temps, direct) {
				created = append(created, direct)
			}
		})
	}
	var errs []error
	triedDirect := atLeast(api, recoversAPI) && !transport.Loopback(host)
	if triedDirect {
		p.note("the Docker daemon pushes to %s directly: it speaks API %s (Docker 28 or later), which uploads a blob when the registry refuses to mount it from another repository, so it needs no relay", host, api)
		err := pushDirect()
		if err == nil || errors.Is(err, errMissingContent) || ctx.Err() != nil {
			return err
		}
		errs = append(errs, fmt.Errorf("to %s: %w", host, err))
		p.note("the direct push failed (%v): the relay is tried", err)
	}
	if mayReachRelay(d.DaemonHost()) {
		r, err := startRelay(ctx, t.Registry, t.Transport)
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("starting the relay to the registry: %w", err))...)
		}
		if err := r.probe(ctx, d); err != nil {
			p.note("the relay is not used: %v", err)
			errs = append(errs, err)
		} else {
			p.note("the Docker daemon reached the relay at %s: it pushes through it", r.host)
			ref := r.host + "/" + t.Repository + ":" + RecordTag(id)
			err := p.pushVia(ctx, d, j, ref, t, func() { created = append(created, ref) })
			if err == nil || errors.Is(err, errMissingContent) || ctx.Err() != nil {
				r.close()
				return err
			}
			errs = append(errs, fmt.Errorf("through the relay at %s: %w", r.host, err))
		}
		r.close()
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	switch {
	case triedDirect:
		return errors.Join(errs...)
	case transport.Loopback(host):
		return errors.Join(append(errs, fmt.Errorf("the registry is on this machine's loopback (%s), which the Docker daemon at %s does not share", host, d.DaemonHost()))...)
	}
	p.note("the Docker daemon pushes to %s directly", host)
	err = pushDirect()
	if err == nil || errors.Is(err, errMissingContent) {
		return err
	}
	return errors.Join(append(errs, fmt.Errorf("to %s: %w", host, err))...)
}

// API versions that tell what a daemon does; its ping says which it
// speaks.
const (
	// recoversAPI is Docker 28.0's: from there on, a daemon's push on the
	// containerd store uploads a blob whose cross-repository mount the
	// registry refuses with 401 (containerd 2's pusher), where Docker
	// 26's fails; should a daemon not, its failed direct push falls back
	// to the relay.
	recoversAPI = "1.48"
	// inspectNamesAPI is Docker 28.3's (checked on 28.5): its image
	// inspect names every name of an image, those it cannot parse
	// included (see names), so that the names are read from it, not from
	// the slow image list. The names guard the user's images: an older
	// daemon keeps the list.
	inspectNamesAPI = "1.51"
)

// apiVersion is the API version the daemon says it speaks, in its ping;
// "" when it does not say.
func apiVersion(ctx context.Context, d pushingDaemon) string {
	ctx, cancel := context.WithTimeout(ctx, daemonTimeout)
	defer cancel()
	ping, err := d.Ping(ctx, client.PingOptions{})
	if err != nil {
		return ""
	}
	return ping.APIVersion
}

// atLeast tells whether API version v (major.minor) is want or later;
// an empty or malformed v is not.
func atLeast(v, want string) bool {
	parse := func(s string) (major, minor int, ok bool) {
		a, b, found := strings.Cut(s, ".")
		major, err1 := strconv.Atoi(a)
		minor, err2 := strconv.Atoi(b)
		return major, minor, found && err1 == nil && err2 == nil
	}
	vMajor, vMinor, ok := parse(v)
	wMajor, wMinor, _ := parse(want)
	return ok && (vMajor > wMajor || vMajor == wMajor && vMinor >= wMinor)
}

// pushVia has the daemon push the image as ref, a temporary local name
// in the charm's repository on the registry's host as the daemon reaches
// it (removed after, by removeTemp: tagged tells it is there); in the
// registry that tag stays, and names the image (it is the image's
// RecordTag).
func (p *pusher) pushVia(ctx context.Context, d pushingDaemon, j *job, ref string, t *DaemonTarget, tagged func()) error {
	if _, err := d.ImageTag(ctx, client.ImageTagOptions{Source: j.img.ID.String(), Target: ref}); err != nil {
		return fmt.Errorf("tagging the image %s: %w", ref, err)
	}
	tagged()
	host, _, _ := strings.Cut(ref, "/")
	auth, err := encodeAuth(t, host)
	if err != nil {
		return err
	}
	if err := p.daemonPush(ctx, d, ref, auth, j.img.ID); err != nil {
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

// leftovers are the temporary names of the image among all that a run
// killed before left: those of the direct push, and those of a relay
// that no longer listens (a relay that does is a push still running).
func leftovers(ctx context.Context, all names, isTemp func(string) bool) []string {
	var out []string
	for _, name := range slices.Concat(all.listed, all.tags) {
		if !isTemp(name) || slices.Contains(out, name) {
			continue
		}
		if host, _, _ := strings.Cut(name, "/"); relayHost(host) && relayAlive(ctx, host) {
			continue
		}
		out = append(out, name)
	}
	return out
}

// removeTemp removes the temporary names temps of image id (isTemp tells
// them all). Then it checks that the image's other names are before's,
// tags again a name lost (a name the daemon did not parse, which it
// removed with the temporary one, becomes the parsed name it was listed
// as), and tells what differs still. It runs even when ctx is done.
func (p *pusher) removeTemp(ctx context.Context, d pushingDaemon, id digest.Digest, isTemp func(string) bool, temps []string, before names, byInspect bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*daemonTimeout)
	defer cancel()
	for _, name := range temps {
		if _, err := d.ImageRemove(ctx, name, client.ImageRemoveOptions{}); err != nil {
			p.emit(Event{Kind: TagNotRemoved, Tag: name, Err: err})
		}
	}
	for restored := false; ; restored = true {
		after, ok, err := readNames(ctx, d, id, byInspect)
		switch {
		case err != nil || !ok:
			p.emit(Event{Kind: NamesChanged, Digest: id, Err: cmp.Or(err, errors.New("the Docker daemon no longer lists the image"))})
			return
		case after.without(isTemp).equal(before):
			return
		case restored:
			p.emit(Event{Kind: NamesChanged, Digest: id, Err: fmt.Errorf("before: %s; now: %s", before, after.without(isTemp))})
			return
		}
		for _, tag := range before.tags {
			if !slices.Contains(after.tags, tag) && !strings.Contains(tag, "@") {
				_, _ = d.ImageTag(ctx, client.ImageTagOptions{Source: id.String(), Target: tag})
			}
		}
	}
}

// daemonPusher is the daemon and the target of a daemon push, or why
// there is none.
func (p *pusher) daemonPusher() (pushingDaemon, *DaemonTarget, error) {
	t := p.opts.daemonTarget
	if t == nil {
		return nil, nil, errors.New("no target given for the Docker daemon to push to")
	}
	d, ok := p.daemon.(pushingDaemon)
	if !ok {
		return nil, nil, errors.New("this Docker daemon client cannot push")
	}
	return d, t, nil
}

// note tells the caller which way the daemon push goes, and why.
func (p *pusher) note(format string, a ...any) {
	p.emit(Event{Kind: PushPath, Note: fmt.Sprintf(format, a...)})
}

// daemonPush has the daemon push image id as ref, and follows its
// messages. A push whose messages tell no progress for the stall timeout
// (a healthy daemon tells its progress several times a second) is
// stopped, with a *DaemonStallError.
func (p *pusher) daemonPush(ctx context.Context, d pushingDaemon, ref, auth string, id digest.Digest) error {
	ctx, w, stop := watch(ctx, p.opts.stall, p.opts.stall, fmt.Sprintf("pushing image %s as %s", id, ref))
	defer stop()
	resp, err := d.ImagePush(ctx, ref, client.ImagePushOptions{RegistryAuth: auth})
	if err != nil {
		return fmt.Errorf("the Docker daemon did not push: %w", cmp.Or(w.stalled(), err))
	}
	defer func() { _ = resp.Close() }()
	if err := p.followPush(resp, w); err != nil {
		return cmp.Or(w.stalled(), err)
	}
	return nil
}

// followPush reads the daemon's push messages to the end, showing layer
// progress and telling w of it, and returns the error the daemon
// reports, if any. A message that only repeats the last one of its layer
// is no progress.
func (p *pusher) followPush(messages io.Reader, w *watchdog) error {
	var show func(dockersave.Event)
	if p.opts.layerProgress != nil {
		show = p.opts.layerProgress()
	}
	last := map[string]jsonstream.Message{}
	dec := json.NewDecoder(messages)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if m.Error != nil {
			return errors.New(m.Error.Message)
		}
		if moved(last[m.ID], m) {
			w.progress()
		}
		last[m.ID] = m
		if show == nil || m.ID == "" {
			continue
		}
		e := dockersave.Event{Name: m.ID}
		switch {
		case m.Status == "Preparing" || m.Status == "Waiting":
			e.Kind = dockersave.Preparing
		case m.Status == "Pushing" && m.Progress != nil:
			e.Kind, e.Done, e.Total = dockersave.Pushing, m.Progress.Current, m.Progress.Total
		case m.Status == "Pushed":
			e.Kind = dockersave.Pushed
		case m.Status == "Layer already exists" || strings.HasPrefix(m.Status, "Mounted from"):
			e.Kind = dockersave.Exists
		default:
			continue
		}
		show(e)
	}
}

// moved tells whether m, a push message, tells more than before, the
// last message of its layer.
func moved(before, m jsonstream.Message) bool {
	if m.Status != before.Status || (m.Progress == nil) != (before.Progress == nil) {
		return true
	}
	return m.Progress != nil && m.Progress.Current != before.Progress.Current
}

// encodeAuth is the X-Registry-Auth header of the push: the charm's
// upload credentials, which the daemon trades for a token.
func encodeAuth(t *DaemonTarget, host string) (string, error) {
	b, err := json.Marshal(registrytypes.AuthConfig{Username: t.Username, Password: t.Password, ServerAddress: host}) //nolint:gosec // the X-Registry-Auth header carries it to the daemon, by design
	if err != nil {
		return "", err
	}
	return base64.URLEncoding.EncodeToString(b), nil
}

// mayReachRelay tells whether the daemon at host (DOCKER_HOST's form) may
// reach a relay on this machine's loopback: a socket or named pipe, or
// TCP to the loopback. It is a hint, which saves the probe for a daemon
// on another host; the probe tells (a socket may lead to a VM, as Docker
// Desktop's does, or into a network namespace, as rootless Docker's).
func mayReachRelay(host string) bool {
	u, err := url.Parse(host)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "unix", "npipe":
		return true
	case "tcp", "http", "https":
		return transport.Loopback(u.Host)
	}
	return false
}
