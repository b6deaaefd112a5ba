//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"

	"github.com/canonical/docker-charmcraft/charmhub"
)

// The containerd-store configuration (issue 13): the same scenarios on a
// daemon with containerd's image store (Docker Desktop's default), where
// image IDs are manifest digests, layers are stored compressed, and the
// plugin has the daemon push the image itself. Its target is a cold
// upload at most as long as `docker push` of the same image from the same
// daemon to the same registry.

// Image stores, as rows and results name them.
const (
	storeClassic    = "classic"
	storeContainerd = "containerd"
	// storeNone is no daemon at all: the rock alone (see onlyRock).
	storeNone = "none"
)

// containerdColdLimit is the containerd store's target: plugin cold /
// docker push cold.
const containerdColdLimit = 1.0

// daemonStore is the image store of DOCKER_HOST's daemon.
func daemonStore(ctx context.Context) string {
	out, _ := exec.CommandContext(ctx, "docker", "info", "--format", "{{json .DriverStatus}}").Output()
	if strings.Contains(string(out), "io.containerd.snapshotter.v1") {
		return storeContainerd
	}
	return storeClassic
}

// containerdHost is the DOCKER_HOST of a containerd-store daemon to run
// the second configuration on: BENCH_CONTAINERD_HOST ("none" for none),
// else the matrix's d26c (scripts/matrix.sh), else none.
func containerdHost() string {
	switch v := os.Getenv("BENCH_CONTAINERD_HOST"); v {
	case "none":
		return ""
	case "":
	default:
		return v
	}
	daemons := os.Getenv("CHARMCRAFT_TEST_DAEMONS")
	if daemons == "" {
		daemons = matrixSetting("/run/charmcraft-matrix.env", "CHARMCRAFT_TEST_DAEMONS")
	}
	for e := range strings.SplitSeq(daemons, ",") {
		if host, ok := strings.CutPrefix(e, "d26c="); ok {
			return host
		}
	}
	return ""
}

// matrixSetting reads one KEY=value line of the matrix's settings file.
func matrixSetting(path, key string) string {
	f, err := os.Open(path) //nolint:gosec // the matrix's own settings file
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+"="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

// runContainerdConfig runs the bench again on the containerd-store
// daemon, when there is one and the first run was not on it already; the
// file upload, which no daemon takes part in, is left out.
func runContainerdConfig(ctx context.Context, cfg config, first string) error {
	host := containerdHost()
	if host == "" || first == storeContainerd {
		return nil
	}
	logf("the containerd-store configuration, on %s (BENCH_CONTAINERD_HOST=none skips it)", host)
	if err := os.Setenv("DOCKER_HOST", host); err != nil {
		return err
	}
	cfg.fileSize, cfg.fileSizeText = 0, "0"
	_, err := runOnce(ctx, cfg)
	return err
}

// tagImages names the test images on the containerd store: the plugin has
// the daemon push only an image with a name the daemon parses (removing
// its temporary tag from an untagged one would delete it), as a user's
// built images are.
func (b *bench) tagImages(ctx context.Context) error {
	for tag, id := range map[string]string{"charmcraft-bench:base": b.img.base, "charmcraft-bench:variant": b.img.variant} {
		if err := runQuiet(b.docker(ctx, "tag", id, tag)); err != nil {
			return err
		}
	}
	return nil
}

// pushRE matches the Docker API's image push: ImagePush.
var pushRE = regexp.MustCompile(`/images/.+/push$`)

// strategyOf says how a plugin run that went through the daemon proxy
// pushed the image, from what it asked of the daemon: a push, an export,
// or neither (the registry had it).
func strategyOf(pushes, saves int64) string {
	switch {
	case saves > 0 && pushes > 0:
		return "daemon push failed, export"
	case saves > 0:
		return "export"
	case pushes > 0:
		return "daemon push"
	}
	return "none"
}

// strategyNote is the strategies of a row's runs, for its notes: one
// name, or each with its count when they differ (a run that fell back to
// the export shows here).
func strategyNote(runs []sample) string {
	counts := map[string]int{}
	var order []string
	for _, s := range runs {
		if s.Strategy == "" {
			continue
		}
		if counts[s.Strategy] == 0 {
			order = append(order, s.Strategy)
		}
		counts[s.Strategy]++
	}
	switch len(order) {
	case 0:
		return ""
	case 1:
		return "by " + order[0]
	}
	parts := make([]string, len(order))
	for i, st := range order {
		parts[i] = fmt.Sprintf("%s ×%d", st, counts[st])
	}
	return "by " + strings.Join(parts, ", ")
}

// containerdTargets sets the containerd store's target on the ratio of
// the plugin's cold upload to docker push's: the daemon pushes for the
// plugin there, so at most as long (issue 13), where the classic store's
// is 0.70 (issue 4).
func containerdTargets(rs []ratio) []ratio {
	for i, x := range rs {
		if x.Name == "plugin cold / "+scDockerCold+" (wall)" {
			rs[i].Target, rs[i].Met = fmt.Sprintf("≤ %.2f (containerd store)", containerdColdLimit), ptr(x.Value <= containerdColdLimit)
		}
	}
	return rs
}

// intermediates are the images the classic builder left under the test
// images, on the containerd store: there they outlive the images (the
// classic store removes them with the image) and keep the text-like
// layers, the same in every run, with the daemon's record of where they
// were pushed.
func (b *bench) intermediates() []string {
	if b.store != storeContainerd {
		return nil
	}
	var out []string
	for _, id := range []string{b.img.base, b.img.variant} {
		for id != "" {
			parent, err := exec.Command("docker", "image", "inspect", "--format", "{{.Parent}}", id).Output()
			if err != nil {
				break
			}
			id = strings.TrimSpace(string(parent))
			if id != "" {
				out = append(out, id)
			}
		}
	}
	return out
}

// removeImages removes images, in order (intermediates lists children
// before their parents).
func removeImages(ids []string) {
	for _, id := range ids {
		_ = exec.Command("docker", "rmi", id).Run()
	}
}

// dockerPushRef is where docker push pushes the base image, logged in:
// the charm's repository, on the proxy. On the containerd store, through
// a TCP alias of the proxy on a loopback address of its own (stop closes
// it): that store remembers which repositories of a registry host each
// blob went to, and the next push of the blobs to another repository asks
// to mount them from there, which a per-charm token may not read, so
// Docker 26 fails the push (insufficient_scope) instead of uploading.
// The plugin's relay does the same for the plugin.
func (b *bench) dockerPushRef(ctx context.Context, creds *charmhub.RegistryCredentials) (string, func(), error) {
	if b.store != storeContainerd || b.cfg.tls {
		// With -tls, by the registry's name, which its certificate holds:
		// docker push as a user runs it, from inside the namespace too.
		return creds.ImageName + ":bench", func() {}, b.dockerLogin(ctx, creds)
	}
	b.aliases++
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", fmt.Sprintf("127.0.7.%d:0", b.aliases%250+1))
	if err != nil {
		return "", nil, err
	}
	go forward(ln, b.world.proxy.host)
	alias := *creds
	_, path, _ := strings.Cut(creds.ImageName, "/")
	alias.ImageName = ln.Addr().String() + "/" + path
	cmd := b.docker(ctx, "login", "-u", creds.Username, "--password-stdin", ln.Addr().String())
	cmd.Stdin = strings.NewReader(creds.Password)
	if err := runQuiet(cmd); err != nil {
		_ = ln.Close()
		return "", nil, err
	}
	return alias.ImageName + ":bench", func() { _ = ln.Close() }, nil
}

// forward copies each connection ln accepts to and from target.
func forward(ln net.Listener, target string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer func() { _ = c.Close() }()
			t, err := net.Dial("tcp", target)
			if err != nil {
				return
			}
			defer func() { _ = t.Close() }()
			go func() { _, _ = io.Copy(t, c) }()
			_, _ = io.Copy(c, t)
		}()
	}
}

// coldEnv is the environment of the plugin's cold upload: on the
// containerd store, through the daemon proxy, which tells how the image
// went (its pushes are small); on the classic store, where the export is
// the image, straight to the daemon.
func (b *bench) coldEnv() []string {
	if b.store == storeContainerd {
		return b.viaDaemonProxy()
	}
	return nil
}
