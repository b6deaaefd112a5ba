//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"
)

// bench is one measuring session: the servers, the images, and the
// samples taken so far.
type bench struct {
	cfg     config
	started time.Time
	peers   peers
	dir     string // temporary; removed by the caller
	machine machine
	world   *world
	daemon  *daemonProxy // nil when the daemon cannot be proxied
	img     *images
	rows    []*scenario
	store   string // the daemon's image store: storeClassic or storeContainerd
	aliases int    // TCP aliases of the proxy made so far (see dockerPushRef)

	saveTar   string // `docker save` of the base image, for crane
	rockPath  string // the rock, made once
	filePath  string // the file resource
	fileCharm string
}

// scenario is one row of the table: a sample per run.
type scenario struct {
	Name string   `json:"name"`
	Runs []sample `json:"runs"`
}

func newBench(ctx context.Context, cfg config, p peers, dir string) (*bench, error) {
	b := &bench{cfg: cfg, started: time.Now(), peers: p, dir: dir}
	b.machine = machineInfo(ctx, cfg.plugin, p)
	var err error
	if b.world, err = startWorld(cfg.link, cfg.tls); err != nil {
		return nil, err
	}
	if cfg.rockOnly {
		b.store = storeNone // no daemon, no image
		return b, nil
	}
	if b.daemon, err = startDaemonProxy(filepath.Join(dir, "docker.sock"), os.Getenv("DOCKER_HOST")); err != nil {
		logf("image exports will not be counted: %v", err)
	}
	if err := os.MkdirAll(b.dockerConfig(), 0o700); err != nil {
		b.close()
		return nil, err
	}
	logf("building the test images: %s in %d layers, and a variant with layer %d changed", cfg.sizeText, layerCount, changedLayer)
	b.img, err = buildImages(ctx, filepath.Join(dir, "context"), cfg.size)
	if err == nil && (cfg.latency() || cfg.tls) {
		logf("building the image of %d layers of %s", smallLayers, mib(smallLayerSize))
		err = b.img.buildSmallImage(ctx, filepath.Join(dir, "small"))
	}
	if err != nil {
		b.close()
		return nil, fmt.Errorf("building the test images: %w", err)
	}
	if b.store = daemonStore(ctx); b.store == storeContainerd {
		if err := b.tagImages(ctx); err != nil {
			b.close()
			return nil, err
		}
	}
	return b, nil
}

// close removes the images and stops the servers.
func (b *bench) close() {
	if b.img != nil {
		parents := b.intermediates()
		b.img.remove()
		removeImages(parents)
	}
	if b.daemon != nil {
		b.daemon.Close()
	}
	b.world.close()
}

// step is one scenario, or a few measured together.
type step struct {
	name string
	run  func(context.Context) error
}

// steps are what the run measures: on loopback, every scenario; across a
// link, those of issue 17.
func (b *bench) steps() []step {
	switch {
	case b.cfg.rockOnly:
		return b.rockSteps()
	case b.cfg.tls:
		return b.tlsSteps()
	case b.cfg.latency():
		return b.latencySteps()
	}
	steps := []step{{"docker save", b.dockerSave}, {"docker push", b.dockerPush}}
	if b.store != storeContainerd { // Debian 12's skopeo speaks API 1.22, which Docker 26 refuses
		steps = append(steps, step{"skopeo copy", b.skopeoCopy})
	}
	if b.peers.crane != "" {
		steps = append(steps, step{"crane push", b.cranePush})
	}
	steps = append(steps, step{"docker charmcraft --image", b.pluginImage},
		step{"docker charmcraft, GOMAXPROCS 16 and 64", b.pluginCores},
		step{"docker charmcraft, one layer changed", b.pluginChanged},
		step{"docker charmcraft, run again after a kill", b.pluginResumed},
		step{"docker charmcraft, other compressor", b.pluginOtherCompressor},
		step{"docker charmcraft, two runners at once", b.pluginRace})
	if b.cfg.fileSize > 0 {
		steps = append(steps, step{"file upload", b.fileUpload})
	}
	if b.store != storeContainerd { // a rock needs no daemon: measured once
		steps = append(steps, b.rockSteps()...)
	}
	return steps
}

// latencySteps are the scenarios of issue 17, each beside its peer.
func (b *bench) latencySteps() []step {
	steps := []step{{"docker save", b.dockerSave}, {"docker push", b.dockerPush},
		{"docker charmcraft --image", b.pluginImage},
		{"docker save, small layers", b.dockerSaveSmall}, {"docker push, small layers", b.dockerPushSmall}, {"docker charmcraft, small layers", b.pluginSmall}}
	if b.cfg.fileSize > 0 {
		steps = append(steps, step{"file upload", b.fileUpload})
	}
	return steps
}

// runAll runs every step cfg.runs times, one run of each in turn, so
// that a slow moment of the machine does not fall on one tool only.
func (b *bench) runAll(ctx context.Context) error {
	steps := b.steps()
	if b.cfg.only != nil {
		steps = slices.DeleteFunc(steps, func(s step) bool { return !b.cfg.only.MatchString(s.name) })
		if len(steps) == 0 {
			return fmt.Errorf("no step matches %q", b.cfg.only)
		}
	}
	for run := 1; run <= b.cfg.runs; run++ {
		logf("run %d of %d", run, b.cfg.runs)
		if err := b.world.newProxy(); err != nil {
			return err
		}
		for _, s := range steps {
			if err := s.run(ctx); err != nil {
				return fmt.Errorf("run %d of %d, %s: %w", run, b.cfg.runs, s.name, err)
			}
		}
	}
	return nil
}

// measureAs measures cmd and records the sample under name.
func (b *bench) measureAs(name string, cmd *exec.Cmd) error {
	s, err := b.measure(cmd)
	if err != nil {
		return err
	}
	b.record(name, s)
	return nil
}

func (b *bench) record(name string, s sample) {
	i := slices.IndexFunc(b.rows, func(r *scenario) bool { return r.Name == name })
	if i < 0 {
		b.rows = append(b.rows, &scenario{Name: name})
		i = len(b.rows) - 1
	}
	b.rows[i].Runs = append(b.rows[i].Runs, s)
	logf("  %-40s %6.2f s wall, %6.2f s CPU, %s sent", name, s.Wall.Seconds(), s.CPU.Seconds(), mib(s.BlobBytes+s.StorageBytes))
}

func (b *bench) dockerConfig() string { return filepath.Join(b.dir, "docker-config") }
func (b *bench) cacheDir() string     { return filepath.Join(b.dir, "cache") }

// docker runs the docker CLI with the bench's own config directory.
func (b *bench) docker(ctx context.Context, args ...string) *exec.Cmd {
	return command(ctx, []string{"DOCKER_CONFIG=" + b.dockerConfig()}, "docker", args...)
}

// plugin runs the plugin binary directly, so that its rusage is its own,
// with its cache in cacheDir. CHARMCRAFT_CACHE_DIR names it; the user
// cache directory is there too, for a plugin that only knows that one.
func (b *bench) plugin(ctx context.Context, extraEnv []string, args ...string) *exec.Cmd {
	env := append(b.world.pluginEnv(),
		"DOCKER_CONFIG="+b.dockerConfig(),
		"CHARMCRAFT_CACHE_DIR="+filepath.Join(b.cacheDir(), "charmcraft"),
		"XDG_CACHE_HOME="+filepath.Join(b.cacheDir(), "xdg"))
	return command(ctx, append(env, extraEnv...), b.cfg.plugin, args...)
}

// daemonSaves is how many image exports went through the daemon proxy.
func (b *bench) daemonSaves() int64 {
	if b.daemon == nil {
		return -1
	}
	return b.daemon.saves()
}

// viaDaemonProxy is the environment that sends a command's Docker API
// calls through the counting daemon proxy (none when there is none).
func (b *bench) viaDaemonProxy() []string {
	if b.daemon == nil {
		return nil
	}
	return []string{"DOCKER_HOST=unix://" + b.daemon.sock}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
