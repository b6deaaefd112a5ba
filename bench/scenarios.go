//go:build linux

package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/registry"
)

// Scenario names: the rows of the table.
const (
	scSave          = "docker save > /dev/null (floor)"
	scDockerCold    = "docker push, cold"
	scDockerWarm    = "docker push, warm"
	scSkopeo        = "skopeo copy, cold"
	scCrane         = "crane push (save tarball), cold"
	scPluginCold    = "docker charmcraft, cold"
	scPluginWarm    = "docker charmcraft, warm"
	scPluginFresh   = "docker charmcraft, fresh cache"
	scPluginChanged = "docker charmcraft, one layer changed"
	// A run killed midway, and the run again (issue 23).
	scPluginResumed = "docker charmcraft, run again after a kill at half"
	// The cold upload as if on more cores (issue 25): GOMAXPROCS set, on
	// this machine's cores.
	scPluginCold16 = "docker charmcraft, cold, GOMAXPROCS=16"
	scPluginCold64 = "docker charmcraft, cold, GOMAXPROCS=64"
	// Many small layers (issue 17).
	scSaveSmall   = "docker save > /dev/null, 60 small layers (floor)"
	scDockerSmall = "docker push, 60 small layers, cold"
	scPluginSmall = "docker charmcraft, 60 small layers, cold"
	// The registry's record of the image (issue 12).
	scPluginOtherGzip = "docker charmcraft, other compressor"
	scPluginRace      = "docker charmcraft, two runners at once"
	scFilePlugin      = "file: docker charmcraft"
	scFileCurl        = "file: curl -F"
)

// freshRepo adds a charm and returns the credentials of its empty image
// repository.
func (b *bench) freshRepo(ctx context.Context) (*charmhub.RegistryCredentials, error) {
	return b.world.credentials(ctx, b.world.newCharm())
}

// dockerLogin stores creds for the proxy in the bench's docker config,
// where docker push and crane find them.
func (b *bench) dockerLogin(ctx context.Context, creds *charmhub.RegistryCredentials) error {
	cmd := b.docker(ctx, "login", "-u", creds.Username, "--password-stdin", b.world.registryHost())
	cmd.Stdin = strings.NewReader(creds.Password)
	return runQuiet(cmd)
}

// dockerSave exports the base image to /dev/null: what every upload from
// the daemon pays first, so the floor of the cold uploads' wall times.
func (b *bench) dockerSave(ctx context.Context) error {
	return b.saveToNull(ctx, scSave, b.img.base)
}

// dockerSaveSmall exports the image of small layers to /dev/null.
func (b *bench) dockerSaveSmall(ctx context.Context) error {
	return b.saveToNull(ctx, scSaveSmall, b.img.small)
}

func (b *bench) saveToNull(ctx context.Context, name, image string) error {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer func() { _ = null.Close() }()
	cmd := b.docker(ctx, "save", image)
	cmd.Stdout = null
	return b.measureAs(name, cmd)
}

// dockerPush pushes the base image to a fresh repository, then again.
func (b *bench) dockerPush(ctx context.Context) error {
	ref, stop, err := b.freshRef(ctx, b.img.base)
	if err != nil {
		return err
	}
	defer stop()
	if err := b.measureAs(scDockerCold, b.docker(ctx, "push", "-q", ref)); err != nil {
		return err
	}
	return b.measureAs(scDockerWarm, b.docker(ctx, "push", "-q", ref))
}

// dockerPushSmall pushes the image of small layers to a fresh repository.
func (b *bench) dockerPushSmall(ctx context.Context) error {
	ref, stop, err := b.freshRef(ctx, b.img.small)
	if err != nil {
		return err
	}
	defer stop()
	return b.measureAs(scDockerSmall, b.docker(ctx, "push", "-q", ref))
}

// freshRef tags image in a fresh repository, where docker push is
// logged in (dockerPushRef), and returns the tag and what closes the
// way there once the pushes are done.
func (b *bench) freshRef(ctx context.Context, image string) (string, func(), error) {
	creds, err := b.freshRepo(ctx)
	if err != nil {
		return "", nil, err
	}
	ref, stop, err := b.dockerPushRef(ctx, creds)
	if err != nil {
		return "", nil, err
	}
	if err := runQuiet(b.docker(ctx, "tag", image, ref)); err != nil {
		stop()
		return "", nil, err
	}
	return ref, stop, nil
}

// skopeoCopy copies the base image from the daemon to a fresh repository.
func (b *bench) skopeoCopy(ctx context.Context) error {
	creds, err := b.freshRepo(ctx)
	if err != nil {
		return err
	}
	args := []string{"--insecure-policy", "copy", "-q"}
	if host := os.Getenv("DOCKER_HOST"); host != "" {
		args = append(args, "--src-daemon-host", host) // skopeo does not read DOCKER_HOST
	}
	return b.measureAs(scSkopeo, command(ctx, nil, b.peers.skopeo, append(args,
		"--dest-tls-verify=false", "--dest-creds", creds.Username+":"+creds.Password,
		"docker-daemon:"+b.img.base, "docker://"+creds.ImageName+":bench")...))
}

// cranePush pushes a `docker save` tarball of the base image (made once,
// not timed: crane cannot read the daemon) to a fresh repository.
func (b *bench) cranePush(ctx context.Context) error {
	if b.saveTar == "" {
		tar := filepath.Join(b.dir, "image.tar")
		if err := runQuiet(b.docker(ctx, "save", "-o", tar, b.img.base)); err != nil {
			return err
		}
		b.saveTar = tar
	}
	creds, err := b.freshRepo(ctx)
	if err != nil {
		return err
	}
	if err := b.dockerLogin(ctx, creds); err != nil {
		return err
	}
	return b.measureAs(scCrane, command(ctx, []string{"DOCKER_CONFIG=" + b.dockerConfig()},
		b.peers.crane, "push", "--insecure", b.saveTar, creds.ImageName+":bench"))
}

// pluginImage uploads the base image to a fresh repository with an empty
// cache (cold), again (warm, export counted), and again with the cache
// deleted (fresh cache: the registry holds everything).
func (b *bench) pluginImage(ctx context.Context) error {
	args := []string{"upload-resource", b.world.newCharm(), imageRes, "--image=" + b.img.base}
	if err := os.RemoveAll(b.cacheDir()); err != nil {
		return err
	}
	if err := b.measureAs(scPluginCold, b.plugin(ctx, b.coldEnv(), args...)); err != nil {
		return err
	}
	if err := b.measureAs(scPluginWarm, b.plugin(ctx, b.viaDaemonProxy(), args...)); err != nil {
		return err
	}
	if err := os.RemoveAll(b.cacheDir()); err != nil {
		return err
	}
	return b.measureAs(scPluginFresh, b.plugin(ctx, b.viaDaemonProxy(), args...))
}

// pluginCores uploads the base image cold, with GOMAXPROCS 16 then 64:
// what the memory of a push on a 16- or 64-core machine is (its buffers
// must not grow with the cores), whatever this machine has.
func (b *bench) pluginCores(ctx context.Context) error {
	for _, c := range []struct {
		name  string
		procs int
	}{{scPluginCold16, 16}, {scPluginCold64, 64}} {
		if err := os.RemoveAll(b.cacheDir()); err != nil {
			return err
		}
		env := append(b.coldEnv(), fmt.Sprintf("GOMAXPROCS=%d", c.procs))
		if err := b.measureAs(c.name, b.plugin(ctx, env, "upload-resource", b.world.newCharm(), imageRes, "--image="+b.img.base)); err != nil {
			return err
		}
	}
	return nil
}

// pluginSmall uploads the image of small layers to a fresh repository
// with an empty cache.
func (b *bench) pluginSmall(ctx context.Context) error {
	if err := os.RemoveAll(b.cacheDir()); err != nil {
		return err
	}
	return b.measureAs(scPluginSmall, b.plugin(ctx, nil, "upload-resource", b.world.newCharm(), imageRes, "--image="+b.img.small))
}

// pluginChanged uploads the base image to a fresh repository (not timed),
// then the variant, with the cache the first upload left.
func (b *bench) pluginChanged(ctx context.Context) error {
	charm := b.world.newCharm()
	if err := os.RemoveAll(b.cacheDir()); err != nil {
		return err
	}
	if err := runQuiet(b.plugin(ctx, nil, "upload-resource", charm, imageRes, "--image="+b.img.base)); err != nil {
		return err
	}
	s, err := b.measure(b.plugin(ctx, nil, "upload-resource", charm, imageRes, "--image="+b.img.variant))
	if err != nil {
		return err
	}
	if s.ChangedLayerBytes, s.ConfigBytes, err = b.variantSizes(ctx, charm); err != nil {
		return err
	}
	b.record(scPluginChanged, s)
	return nil
}

// pluginResumed uploads the base image to a fresh repository with an
// empty cache, once whole (not timed: it tells the bytes a cold upload
// sends), then again to another one, killed (SIGKILL) once the registry
// got half those bytes; the row is the run again, with the cache the
// killed run left, which resumes the upload sessions it finds there. On
// a containerd store the image is pushed from its export (--platform): a
// daemon push starts its layers over.
func (b *bench) pluginResumed(ctx context.Context) error {
	args := func() []string {
		a := []string{"upload-resource", b.world.newCharm(), imageRes, "--image=" + b.img.base}
		if b.store == storeContainerd {
			a = append(a, "--platform=linux/"+runtime.GOARCH)
		}
		return a
	}
	if err := os.RemoveAll(b.cacheDir()); err != nil {
		return err
	}
	whole, err := b.measure(b.plugin(ctx, nil, args()...))
	if err != nil {
		return err
	}
	if err := os.RemoveAll(b.cacheDir()); err != nil {
		return err
	}
	again := args()
	killed, err := b.killedAt(b.plugin(ctx, nil, again...), whole.BlobBytes/2)
	if err != nil {
		return err
	}
	s, err := b.measure(b.plugin(ctx, nil, again...))
	if err != nil {
		return err
	}
	s.WholeBytes, s.KilledAtBytes = whole.BlobBytes, killed
	b.record(scPluginResumed, s)
	return nil
}

// killedAt starts cmd and kills it once the registry got at blob bytes;
// it returns how many it got by then.
func (b *bench) killedAt(cmd *exec.Cmd, at int64) (int64, error) {
	b.world.proxy.reset()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for b.world.proxy.counted().blobBytes < at {
		select {
		case err := <-exited:
			return 0, fmt.Errorf("%s ended before it was killed: %w", describe(cmd), err)
		case <-tick.C:
		}
	}
	got := b.world.proxy.counted().blobBytes
	_ = cmd.Process.Kill()
	<-exited
	return got, nil
}

// variantSizes reads the manifest the plugin pushed for the variant: the
// sizes of its changed layer and of its config blob.
func (b *bench) variantSizes(ctx context.Context, charm string) (layer, config int64, err error) {
	d, err := b.world.lastImageDigest(charm)
	if err != nil {
		return 0, 0, err
	}
	creds, err := b.world.credentials(ctx, charm)
	if err != nil {
		return 0, 0, err
	}
	_, repo, _ := strings.Cut(creds.ImageName, "/")
	rc, err := registry.New(b.world.reg.URL, repo, registry.WithBasicAuth(creds.Username, creds.Password))
	if err != nil {
		return 0, 0, err
	}
	_, body, err := rc.GetManifest(ctx, d)
	if err != nil {
		return 0, 0, err
	}
	var m struct {
		Config struct{ Size int64 }
		Layers []struct{ Size int64 }
	}
	if err := json.Unmarshal(body, &m); err != nil || len(m.Layers) != layerCount {
		return 0, 0, fmt.Errorf("the variant's manifest %s has %d layers, not %d (%w)", d, len(m.Layers), layerCount, err)
	}
	return m.Layers[changedLayer].Size, m.Config.Size, nil
}

// fileUpload uploads the file resource with the plugin, then the same
// file to the same storage endpoint with curl.
func (b *bench) fileUpload(ctx context.Context) error {
	if b.filePath == "" {
		path := filepath.Join(b.dir, "resource.bin")
		logf("writing a %s random file resource", b.cfg.fileSizeText)
		if err := writeRandomFile(path, b.cfg.fileSize); err != nil {
			return err
		}
		b.filePath, b.fileCharm = path, b.world.newCharm()
	}
	err := b.measureAs(scFilePlugin, b.plugin(ctx, nil, "upload-resource", b.fileCharm, fileRes, "--filepath="+b.filePath))
	if err != nil {
		return err
	}
	// -F sends the multipart form the plugin sends: the POST equivalent
	// of `curl -T`, which storage does not take.
	return b.measureAs(scFileCurl, command(ctx, nil, b.peers.curl, "-sS", "--fail", "--noproxy", "*",
		"-o", "/dev/null", "-F", "binary=@"+b.filePath, "-H", "Authorization: Macaroon "+benchToken,
		b.world.proxy.URL+"/storage/unscanned-upload/"))
}

func writeRandomFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = io.CopyN(f, rand.Reader, size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
