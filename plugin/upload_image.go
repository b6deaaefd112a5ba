package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/imagepush"
	"github.com/canonical/docker-charmcraft/internal/transport"
	"github.com/canonical/docker-charmcraft/layercache"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/opencontainers/go-digest"
)

// askCredentials asks Charmhub for the registry credentials of the
// charm's image resource, in the background: the resource is checked
// meanwhile, which the answer does not depend on, so that the round trips
// overlap. The function returned waits for the answer.
func askCredentials(ctx context.Context, ch *charmhub.Client, charm, resource string) func() (*charmhub.RegistryCredentials, error) {
	type answer struct {
		creds *charmhub.RegistryCredentials
		err   error
	}
	done := make(chan answer, 1)
	go func() {
		creds, err := ch.UploadCredentials(ctx, charm, resource)
		done <- answer{creds, err}
	}()
	return sync.OnceValues(func() (*charmhub.RegistryCredentials, error) {
		a := <-done
		return a.creds, a.err
	})
}

// pingRegistry asks the registry for its challenge in the background
// (see registry.Ping), while Charmhub is asked for the credentials: the
// connection and the challenge are then ready for the first request. The
// function returned waits for the answer, for pingWait at most; nil if
// there is none. It is called once.
func pingRegistry(ctx context.Context, env *cliEnv) func() *registry.Challenge {
	netp, err := env.netPolicy()
	if err != nil {
		return func() *registry.Challenge { return nil }
	}
	opts := []registry.Option{registry.WithTransport(netp.transport), registry.WithUserAgent(env.userAgent)}
	if w := env.debugLog(); w != nil {
		opts = append(opts, registry.WithDebug(w))
	}
	done := make(chan *registry.Challenge, 1)
	go func() {
		c, err := registry.Ping(ctx, env.registryURL(), opts...)
		if err != nil {
			env.debugf("registry: no challenge learnt beforehand: %v", err)
		}
		done <- c
	}()
	return func() *registry.Challenge {
		t := time.NewTimer(pingWait)
		defer t.Stop()
		select {
		case c := <-done:
			return c
		case <-t.C:
			return nil
		}
	}
}

// pingWait is how long the registry client, once it has its credentials,
// waits for the challenge pingRegistry asked for: the ping's three round
// trips (connection, TLS, the answer) against Charmhub's one, on a link
// of up to 300 ms.
const pingWait = time.Second

// uploadImage, the --image half of upload-resource, makes sure the image
// is in Canonical's registry under the charm's path (imagepush decides
// how) and uploads the blob that names it; it returns the upload ID for
// the new revision, and the bases of the image's architectures. creds
// waits for the registry credentials (see askCredentials), challenge for
// the registry's challenge (see pingRegistry).
func uploadImage(ctx context.Context, env *cliEnv, ch *charmhub.Client, out *resultWriter, opts uploadResourceOptions,
	creds func() (*charmhub.RegistryCredentials, error), challenge func() *registry.Challenge,
) (string, []charmhub.Base, error) {
	arg, err := parseImageArg(opts.image, os.Stat)
	if err != nil {
		return "", nil, err
	}
	cred, err := creds()
	if err != nil {
		return "", nil, err
	}
	reg, err := env.registry(repositoryPath(cred.ImageName), cred.Username, cred.Password, ch.CredentialsID(), challenge())
	if err != nil {
		return "", nil, err
	}
	platforms, _ := parsePlatformFlag(opts.platforms) // checked by validate
	pushOpts := []imagepush.Option{
		imagepush.WithEvents(imageEvents(env, out)),
		imagepush.WithLayerProgress(env.layerProgress),
		imagepush.WithPlatforms(platforms),
	}
	var res *imagepush.Result
	if arg.archive != nil {
		// A rock: no daemon, no compression; the cache keeps only the
		// upload sessions a killed run leaves.
		res, err = imagepush.PushArchive(ctx, reg, *arg.archive, append(pushOpts, imagepush.WithCache(env.layerCache(out)))...)
	} else {
		res, err = pushLocal(ctx, env, out, reg, cred, arg.digest, pushOpts)
	}
	if err != nil {
		return "", nil, imageError(err, opts.charm)
	}
	out.imageDigest = res.Digest
	switch {
	case res.NotByDaemon != nil:
		env.debugf("image pushed by %s (%s not used: %v)", res.Strategy, imagepush.StrategyDaemonPush, res.NotByDaemon)
	case res.Strategy != "":
		env.debugf("image pushed by %s", res.Strategy)
	}
	// The blob that names the image, and its upload to storage, need the
	// digest alone: Charmhub is asked for them while the registry is asked
	// for the image's architectures.
	type uploaded struct {
		id  string
		err error
	}
	blobUpload := make(chan uploaded, 1)
	go func() {
		id, err := uploadImageBlob(ctx, ch, opts, res.Digest)
		blobUpload <- uploaded{id, err}
	}()
	var bases []charmhub.Base
	switch {
	case len(res.Platforms) > 0:
		bases = basesFor(imageArchs(out.err, platformArchs(res.Platforms))) // its export told them
	case res.Local != nil && !res.Local.ManifestID && res.Local.Arch != "":
		bases = basesFor(imageArchs(out.err, []string{res.Local.Arch})) // inspect told it
	default:
		// Inspect tells one platform of an index: the registry tells all.
		bases = imageBases(ctx, reg, out, res.Digest)
	}
	bases[0].Architectures = sorted(bases[0].Architectures)
	u := <-blobUpload
	return u.id, bases, u.err
}

// uploadImageBlob uploads to Charmhub's storage the blob that names the
// image d in the charm's repository, and returns its upload ID.
func uploadImageBlob(ctx context.Context, ch *charmhub.Client, opts uploadResourceOptions, d digest.Digest) (string, error) {
	blob, err := ch.ImageBlob(ctx, opts.charm, opts.resource, d.String())
	if err != nil {
		return "", err
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(blob)), nil }
	return ch.Upload(ctx, "oci-image.json", int64(len(blob)), open, nil)
}

// pushLocal pushes the image of digest want, from the registry as it is
// or from the Docker daemon.
func pushLocal(ctx context.Context, env *cliEnv, out *resultWriter, reg *registry.Client, cred *charmhub.RegistryCredentials, want imageDigest, pushOpts []imagepush.Option) (*imagepush.Result, error) {
	comp, err := compressor()
	if err != nil {
		return nil, err
	}
	stall, err := env.duration(stallTimeoutEnv, 0) // 0: the default
	if err != nil {
		return nil, err
	}
	pushOpts = append(pushOpts, imagepush.WithCache(env.layerCache(out)), imagepush.WithCompressor(comp),
		imagepush.WithStallTimeout(stall))
	if t, ok := env.daemonTarget(repositoryPath(cred.ImageName), cred.Username, cred.Password); ok {
		pushOpts = append(pushOpts, imagepush.WithDaemonPush(t))
	}
	return imagepush.Push(ctx, env.dockerCli.Client(), reg, imagepush.Ref{Hex: want.hex, Full: want.full}, pushOpts...)
}

// imageEvents tells the user what the push does. Three of its lines are
// charmcraft's own, word for word, for scripts that read them: "Using the
// OCI image from Canonical's registry", "Remote image not found,
// uploading from local registry" and "Image uploaded, new remote digest".
func imageEvents(env *cliEnv, out *resultWriter) func(imagepush.Event) {
	return func(e imagepush.Event) {
		switch e.Kind {
		case imagepush.Reused:
			out.info("Using the OCI image from Canonical's registry")
		case imagepush.Uploading:
			// charmcraft's sentence; the image comes from the Docker daemon.
			out.info("Remote image not found, uploading from local registry")
		case imagepush.AlreadyPushed:
			out.info("Image already in Canonical's registry, remote digest: %s", e.Digest)
		case imagepush.Uploaded:
			out.info("Image uploaded, new remote digest: %s", e.Digest)
		case imagepush.ExportingAgain:
			out.info("The upload was interrupted; exporting the image again (attempt %d of %d)", e.Attempt, e.Attempts)
			env.debugf("export %d of %d failed: %v", e.Attempt-1, e.Attempts, e.Err)
		case imagepush.RecordIgnored:
			env.debugf("record %s not used, computing the remote manifest: %v", e.Tag, e.Err)
		case imagepush.RecordSaved:
			env.debugf("record %s now names %s", e.Tag, e.Digest)
		case imagepush.TagNotRemoved:
			out.warn("The temporary tag %s could not be removed (%v): remove it with `docker rmi %s`", e.Tag, e.Err, e.Tag)
		case imagepush.PushPath:
			env.debugf("daemon push: %s", e.Note)
		case imagepush.NamesChanged:
			out.warn("The names of image %s are not what they were before the upload: %v", e.Digest, e.Err)
		case imagepush.RecordNotSaved:
			env.debugf("record %s of %s not saved (the next upload computes the manifest again): %v", e.Tag, e.Digest, e.Err)
		}
	}
}

// repositoryPath is the registry path in an image name: the name without
// its host (registry.jujucharms.com/charm/<id>/<resource> ->
// charm/<id>/<resource>). The host comes from the registry base URL.
func repositoryPath(imageName string) string {
	if host, path, ok := strings.Cut(imageName, "/"); ok && (strings.ContainsAny(host, ".:") || host == "localhost") {
		return path
	}
	return imageName
}

// layerCache opens the cache in CHARMCRAFT_CACHE_DIR, else in the user's
// cache directory; nil if it cannot, which only makes pushes slower. A
// directory another user could write is not used, with a warning: its
// entries choose what is pushed.
func (e *cliEnv) layerCache(out *resultWriter) *layercache.Cache {
	dir := e.getenv(cacheDirEnv)
	if dir == "" {
		var err error
		if dir, err = layercache.DefaultDir(); err != nil {
			e.debugf("no layer cache: %v", err)
			return nil
		}
	}
	c, err := layercache.Open(dir)
	if errors.Is(err, layercache.ErrUnsafeDir) {
		out.warn("Not using the layer cache: %v (make it yours alone, e.g. with chmod go-w, or set %s to a directory of your own)", err, cacheDirEnv)
		return nil
	}
	if err != nil {
		e.debugf("no layer cache: %v", err)
		return nil
	}
	c.Err = func(err error) { e.debugf("layer cache: %v", err) }
	return c
}

func (e *cliEnv) debugf(format string, a ...any) {
	if w := e.debugLog(); w != nil {
		_, _ = fmt.Fprintf(w, format+"\n", a...)
	}
}

// imageBases is the bases of an image revision: the architectures the
// image in the registry declares, or all of them, with a warning, when
// they cannot be read.
func imageBases(ctx context.Context, reg *registry.Client, out *resultWriter, d digest.Digest) []charmhub.Base {
	goarchs, err := imagepush.RemoteArchs(ctx, reg, d)
	if err != nil {
		out.warn("Cannot read the image's architecture from Canonical's registry (%v); the revision is marked for all architectures", err)
		return basesFor([]string{"all"})
	}
	return basesFor(imageArchs(out.err, goarchs))
}

// daemonTarget is where the Docker daemon can push an image for the
// plugin: the registry and the repository, with the charm's upload
// credentials. A registry under a path (http://host/prefix) has none: a
// daemon only pushes to a registry's root.
func (e *cliEnv) daemonTarget(repository, username, password string) (imagepush.DaemonTarget, bool) {
	u, err := url.Parse(e.registryURL())
	if err != nil || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return imagepush.DaemonTarget{}, false
	}
	netp, err := e.netPolicy()
	if err != nil {
		return imagepush.DaemonTarget{}, false
	}
	return imagepush.DaemonTarget{Registry: u, Repository: repository, Username: username, Password: password, Transport: netp.transport,
		PlainDaemon: e.plainDaemon()}, true
}

// plainDaemon tells whether the Docker daemon is reached over plain TCP on
// another host: tcp:// or http:// to an address off the loopback, without
// TLS. A socket, a named pipe, ssh:// and TLS are not.
func (e *cliEnv) plainDaemon() bool {
	ep := e.dockerCli.DockerEndpoint()
	u, err := url.Parse(ep.Host)
	if err != nil || (u.Scheme != "tcp" && u.Scheme != "http") || ep.TLSData != nil {
		return false
	}
	return !transport.Loopback(u.Host)
}
