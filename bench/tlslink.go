//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/canonical/docker-charmcraft/internal/faultproxy"
	"github.com/canonical/docker-charmcraft/registry/registrytest"
)

// With -tls (issue 25), the registry serves HTTPS and offers HTTP/2, as
// production registries do, and every tool reaches it across a TCP-level
// link (faultproxy.TCPLink): bytes delayed half the RTT each way, the
// bandwidth shared, TLS and HTTP/2 passing through untouched, so that an
// HTTP/2 client pays its flow-control windows and an HTTP/1.1 client its
// extra handshakes, as across a network. The link listens on the address
// the registry's name resolves to (the matrix's registry.charmcraft.test,
// the host end of the namespace's veth), so that the certificate holds for
// it and the daemons inside the namespace reach it too; they trust it
// through certs.d, the plugin through SSL_CERT_FILE. The Charmhub API and
// the registry's token realm stay where they are (the API behind the
// HTTP proxy's Link, the realm direct): one request each per push, for
// every tool alike.

// tlsLink is the registry's link of a -tls run.
type tlsLink struct {
	conf     *registrytest.TLS
	target   string // the registry's own address
	link     faultproxy.Link
	tcp      *faultproxy.TCPLink
	certsDir string // certs.d entry of the link's host:port, removed by close
}

// tlsSettings turns on the TLS mode of the test registries, from the
// environment or else the matrix's settings file.
func tlsSettings() (*registrytest.TLS, error) {
	get := func(k string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return matrixSetting("/run/charmcraft-matrix.env", k)
	}
	t := &registrytest.TLS{Host: get(registrytest.TLSHostEnv), CACert: get(registrytest.CAEnv), CAKey: get(registrytest.CAKeyEnv), CertsDir: "/etc/docker/certs.d"}
	if t.Host == "" || t.CACert == "" || t.CAKey == "" {
		return nil, fmt.Errorf("-tls needs %s, %s and %s (scripts/matrix.sh writes them in /run/charmcraft-matrix.env)",
			registrytest.TLSHostEnv, registrytest.CAEnv, registrytest.CAKeyEnv)
	}
	return t, nil
}

// newTLSLink puts a link in front of the registry at registryHost (its
// name:port).
func newTLSLink(conf *registrytest.TLS, registryHost string, l faultproxy.Link) (*tlsLink, error) {
	host, port, err := net.SplitHostPort(registryHost)
	if err != nil {
		return nil, err
	}
	addrs, err := net.DefaultResolver.LookupHost(context.Background(), host)
	if err != nil || len(addrs) == 0 {
		return nil, fmt.Errorf("resolving %s: %w", host, err)
	}
	t := &tlsLink{conf: conf, target: net.JoinHostPort(addrs[0], port), link: l}
	return t, t.renew()
}

// renew opens the link on a new port, in place of the one before (see
// world.newProxy), and has the daemons trust the registry's CA there.
func (t *tlsLink) renew() error {
	ip, _, _ := net.SplitHostPort(t.target)
	l, err := faultproxy.ListenTCPLink(net.JoinHostPort(ip, "0"), t.target, t.link)
	if err != nil {
		return fmt.Errorf("starting the link to the registry: %w", err)
	}
	t.close()
	t.tcp = l
	_, port, _ := net.SplitHostPort(l.Addr)
	dir := filepath.Join(t.conf.CertsDir, t.host(port))
	ca, err := os.ReadFile(t.conf.CACert)
	if err == nil {
		err = os.MkdirAll(dir, 0o755) //nolint:gosec // read by the daemons, as certs.d is
	}
	if err == nil {
		t.certsDir = dir
		err = os.WriteFile(filepath.Join(dir, "ca.crt"), ca, 0o644) //nolint:gosec // a CA certificate is public
	}
	if err != nil {
		return fmt.Errorf("trusting the test CA for the link: %w", err)
	}
	return nil
}

func (t *tlsLink) host(port string) string { return net.JoinHostPort(t.conf.Host, port) }

// Host is the link's name:port, as in image names.
func (t *tlsLink) Host() string {
	_, port, _ := net.SplitHostPort(t.tcp.Addr)
	return t.host(port)
}

func (t *tlsLink) close() {
	if t.tcp != nil {
		t.tcp.Close()
	}
	if t.certsDir != "" {
		_ = os.RemoveAll(t.certsDir)
		t.certsDir = ""
	}
}

// errNoTLS is the registry of a -tls run serving plain HTTP.
var errNoTLS = errors.New("the test registry does not serve HTTPS")

// Rows of a -tls run besides those of issue 17.
const (
	scPluginColdH2  = "docker charmcraft, cold, HTTP/2"
	scPluginSmallH2 = "docker charmcraft, 60 small layers, cold, HTTP/2"
	scPluginSecond  = "docker charmcraft, same image to a second charm"
)

// h2Plugin builds, once per bench, the plugin whose transport offers
// HTTP/2 (internal/transport speaks HTTP/1.1 only): the other side of the
// choice the rows measure.
func (b *bench) h2Plugin(ctx context.Context) (string, error) {
	bin := filepath.Join(b.dir, "h2", "docker-charmcraft")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	logf("building the plugin that offers HTTP/2")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags",
		"-X github.com/canonical/docker-charmcraft/internal/transport.offerHTTP2=1", "-o", bin, "./cmd/docker-charmcraft")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the plugin that offers HTTP/2 (from the repository's root): %w\n%s", err, out)
	}
	return bin, nil
}

// withPlugin is cmd run by another plugin binary.
func withPlugin(cmd *exec.Cmd, bin string) *exec.Cmd {
	cmd.Path, cmd.Args[0] = bin, bin
	return cmd
}

// tlsSteps are the scenarios of issue 25, each beside docker push.
func (b *bench) tlsSteps() []step {
	steps := []step{{"docker push", b.dockerPush},
		{"docker charmcraft --image", b.pluginImage},
		{"docker charmcraft, HTTP/2", b.pluginColdH2},
		{"docker push, small layers", b.dockerPushSmall}, {"docker charmcraft, small layers", b.pluginSmall},
		{"docker charmcraft, small layers, HTTP/2", b.pluginSmallH2}}
	if b.store == storeContainerd {
		steps = append(steps, step{"docker charmcraft, second charm", b.pluginSecond})
	}
	return steps
}

// pluginColdH2 uploads the base image to a fresh repository with an
// empty cache, over HTTP/2.
func (b *bench) pluginColdH2(ctx context.Context) error {
	return b.pluginOverH2(ctx, scPluginColdH2, b.img.base)
}

// pluginSmallH2 uploads the image of small layers to a fresh repository
// with an empty cache, over HTTP/2.
func (b *bench) pluginSmallH2(ctx context.Context) error {
	return b.pluginOverH2(ctx, scPluginSmallH2, b.img.small)
}

func (b *bench) pluginOverH2(ctx context.Context, name, image string) error {
	bin, err := b.h2Plugin(ctx)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(b.cacheDir()); err != nil {
		return err
	}
	return b.measureAs(name, withPlugin(b.plugin(ctx, b.coldEnv(), "upload-resource", b.world.newCharm(), imageRes, "--image="+image), bin))
}

// pluginSecond uploads the base image to a charm (not timed), then to a
// second one, with the cache the first left: on the containerd store the
// daemon pushes it again, to an empty repository, with no export.
func (b *bench) pluginSecond(ctx context.Context) error {
	if err := os.RemoveAll(b.cacheDir()); err != nil {
		return err
	}
	if err := runQuiet(b.plugin(ctx, nil, "upload-resource", b.world.newCharm(), imageRes, "--image="+b.img.base)); err != nil {
		return err
	}
	return b.measureAs(scPluginSecond, b.plugin(ctx, b.viaDaemonProxy(), "upload-resource", b.world.newCharm(), imageRes, "--image="+b.img.base))
}

// tlsRatios are the targets of issues 25 and 21 across the TLS link.
func tlsRatios(get lookup, cfg config) []ratio {
	out := coldRatios(get, 0.5)
	pair := func(name, a, b string) {
		x, okX := get(a)
		y, okY := get(b)
		if okX && okY && y.Wall > 0 {
			v := x.Wall.Seconds() / y.Wall.Seconds()
			out = append(out, ratio{Name: name, Value: v, Display: fmt.Sprintf("%.2f (%s vs %s)", v, secs(x.Wall), secs(y.Wall))})
		}
	}
	pair("plugin cold over HTTP/2 / "+scDockerCold+" (wall)", scPluginColdH2, scDockerCold)
	pair("plugin cold, HTTP/1.1 / HTTP/2 (wall)", scPluginCold, scPluginColdH2)
	if p, ok := get(scPluginSmall); ok {
		if d, ok := get(scDockerSmall); ok && d.Wall > 0 {
			v := p.Wall.Seconds() / d.Wall.Seconds()
			out = append(out, ratio{Name: "plugin 60 small layers cold / " + scDockerSmall + " (wall)", Value: v,
				Display: fmt.Sprintf("%.2f", v), Target: "≤ 0.50", Met: ptr(v <= 0.5)})
		}
	}
	pair("plugin 60 small layers cold over HTTP/2 / "+scDockerSmall+" (wall)", scPluginSmallH2, scDockerSmall)
	pair("plugin 60 small layers cold, HTTP/1.1 / HTTP/2 (wall)", scPluginSmall, scPluginSmallH2)
	if warm, ok := get(scPluginWarm); ok {
		out = append(out, ratio{Name: "plugin warm (the same image again), whole command (wall)", Value: warm.Wall.Seconds(),
			Display: secs(warm.Wall), Target: "≤ 1.0 s", Met: ptr(warm.Wall <= time.Second)})
	}
	if p, ok := get(scPluginCold); ok {
		if d, ok := get(scDockerCold); ok && d.LinkBytes > 0 {
			v := float64(p.LinkBytes) / float64(d.LinkBytes)
			out = append(out, ratio{Name: "bytes sent to the registry, plugin cold / " + scDockerCold, Value: v,
				Display: fmt.Sprintf("%.3f (%s vs %s)", v, mib(p.LinkBytes), mib(d.LinkBytes))})
			if p.Store == storeContainerd {
				diff := p.Wall - d.Wall
				x := ratio{Name: "plugin cold − " + scDockerCold + " (wall)", Value: diff.Seconds(), Display: secs(diff)}
				if cfg.size <= 100<<20 {
					x.Target, x.Met = "≤ 0.3 s (100 MB image)", ptr(diff <= 300*time.Millisecond)
				}
				out = append(out, x)
			}
		}
		if d, ok := get(scDockerCold); ok && p.PushCall > 0 && d.Wall > 0 {
			v := p.PushCall.Seconds() / d.Wall.Seconds()
			out = append(out, ratio{Name: "the daemon's push for the plugin (ImagePush call) / " + scDockerCold + " (wall)", Value: v,
				Display: fmt.Sprintf("%.2f (%s vs %s; the plugin's image listings %s)", v, secs(p.PushCall), secs(d.Wall), secs(p.ListCalls))})
		}
		if p.Store == storeContainerd {
			out = append(out, ratio{Name: "the plugin's own cost beside the daemon push (its relay, if used): CPU, bytes to the registry", Value: p.CPU.Seconds(),
				Display: fmt.Sprintf("%s CPU, %s", secs(p.CPU), mib(p.LinkBytes))})
		}
	}
	if s, ok := get(scPluginSecond); ok && s.ImageSaves >= 0 {
		out = append(out, ratio{Name: "plugin, same image to a second charm: image exports (ImageSave)", Value: float64(s.ImageSaves),
			Display: fmt.Sprint(s.ImageSaves), Target: "0", Met: ptr(s.ImageSaves == 0)})
	}
	return append(out, rssRatio(get)...)
}
