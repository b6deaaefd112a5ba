//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/canonical/docker-charmcraft/imagepush"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/opencontainers/go-digest"
)

// otherGzipLevel is the gzip level of the plugin that stands for a newer
// one, whose compressor writes other bytes (see plugin.gzipLevel).
const otherGzipLevel = "6"

// otherPlugin builds, once per bench, the plugin with another gzip level.
func (b *bench) otherPlugin(ctx context.Context) (string, error) {
	bin := filepath.Join(b.dir, "gzip"+otherGzipLevel, "docker-charmcraft")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	logf("building the plugin with gzip level %s", otherGzipLevel)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags",
		"-X github.com/canonical/docker-charmcraft/plugin.gzipLevel="+otherGzipLevel, "-o", bin, "./cmd/docker-charmcraft")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the plugin with gzip level %s (from the repository's root): %w\n%s", otherGzipLevel, err, out)
	}
	return bin, nil
}

// pluginOtherCompressor uploads the base image to a fresh repository (not
// timed), then again with the plugin of another gzip level and the
// cache the first left, whose entries that compressor cannot use: the
// registry's record names the manifest to reuse.
func (b *bench) pluginOtherCompressor(ctx context.Context) error {
	other, err := b.otherPlugin(ctx)
	if err != nil {
		return err
	}
	charm := b.world.newCharm()
	if err := os.RemoveAll(b.cacheDir()); err != nil {
		return err
	}
	args := []string{"upload-resource", charm, imageRes, "--image=" + b.img.base}
	if err := runQuiet(b.plugin(ctx, nil, args...)); err != nil {
		return err
	}
	want, err := b.world.lastImageDigest(charm)
	if err != nil {
		return err
	}
	cmd := b.plugin(ctx, b.viaDaemonProxy(), args...)
	cmd.Path, cmd.Args[0] = other, other // the same command, the other binary
	s, err := b.measure(cmd)
	if err != nil {
		return err
	}
	if got, err := b.world.lastImageDigest(charm); err != nil || got != want {
		s.WrongRemote = 1
		logf("  gzip level %s: remote digest %s, want %s (%v)", otherGzipLevel, got, want, err)
	}
	b.record(scPluginOtherGzip, s)
	return nil
}

// pluginRace uploads the base image to a fresh repository from two
// runners at once (two cache directories): both must succeed, with one
// remote manifest, which the record names.
func (b *bench) pluginRace(ctx context.Context) error {
	charm := b.world.newCharm()
	var cmds []*exec.Cmd
	for _, runner := range []string{"runner1", "runner2"} {
		dir := filepath.Join(b.cacheDir(), runner)
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		cmds = append(cmds, b.plugin(ctx, []string{"CHARMCRAFT_CACHE_DIR=" + dir},
			"upload-resource", charm, imageRes, "--image="+b.img.base))
	}
	b.world.proxy.reset()
	start := time.Now()
	errs := make(chan error, len(cmds))
	for _, cmd := range cmds {
		go func() {
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("%s: %w\n%s", describe(cmd), err, tail(string(out), 2000))
				return
			}
			errs <- nil
		}()
	}
	for range cmds {
		if err := <-errs; err != nil {
			return err
		}
	}
	s := sample{Wall: time.Since(start), ImageSaves: -1, BlobBytes: b.world.proxy.counted().blobBytes}
	if err := b.checkRace(ctx, charm); err != nil {
		s.WrongRemote = 1
		logf("  two runners: %v", err)
	}
	b.record(scPluginRace, s)
	return nil
}

// checkRace checks the two revisions of charm name one remote manifest,
// and that the record of the base image names it (on the classic store;
// on the containerd store the image ID is that manifest's digest).
func (b *bench) checkRace(ctx context.Context, charm string) error {
	var remotes []string
	for _, rev := range b.world.hub.Revisions(charm, imageRes) {
		var blob struct{ ImageName string }
		if err := json.Unmarshal(rev.Content, &blob); err != nil {
			return fmt.Errorf("reading an image blob: %w", err)
		}
		_, d, _ := strings.Cut(blob.ImageName, "@")
		remotes = append(remotes, d)
	}
	if len(remotes) != 2 || remotes[0] != remotes[1] {
		return fmt.Errorf("revisions naming %q, want two naming one manifest", remotes)
	}
	remote := remotes[0]
	if remote == b.img.base {
		return nil
	}
	creds, err := b.world.credentials(ctx, charm)
	if err != nil {
		return err
	}
	_, repo, _ := strings.Cut(creds.ImageName, "/")
	rc, err := registry.New(b.world.reg.URL, repo, registry.WithBasicAuth(creds.Username, creds.Password))
	if err != nil {
		return err
	}
	_, body, err := rc.GetManifest(ctx, imagepush.RecordTag(digest.Digest(b.img.base)))
	if err != nil {
		return fmt.Errorf("reading the record: %w", err)
	}
	if got := digest.FromBytes(body).String(); got != remote {
		return fmt.Errorf("the record names %s, the revisions %s", got, remote)
	}
	return nil
}
