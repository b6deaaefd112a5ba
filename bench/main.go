//go:build linux

// Command bench measures `docker charmcraft upload-resource` side by side
// with `docker push`, `skopeo copy`, `crane push` and `curl`, in one run,
// against one registry: the embedded registry with token auth (or
// distribution 2.8, as CHARMCRAFT_TEST_REGISTRY says) and the Charmhub test
// server, on loopback, behind a proxy (internal/faultproxy) that counts the
// requests and the blob bytes each tool sends. It builds its own images on
// the local Docker daemon, prints a table and the ratios of issue 4, and
// writes them as JSON under bench/results/.
//
// With -tls, the registry serves HTTPS and offers HTTP/2, behind a
// TCP-level link of -rtt and -bandwidth (see tlsLink), and the bench
// measures the rows of issue 25: docker push beside the plugin over
// HTTP/2 and over HTTP/1.1, the bytes each sent, and on the containerd
// store the plugin's relay and a second charm.
//
// With -rtt, the proxy plays a link of that round-trip time (and of
// -bandwidth, if given) between every tool and the servers, `docker push`
// included, and the bench measures what latency costs (issue 17): the
// image cold, warm and with a fresh cache, an image of 60 small layers
// cold, and a 1 KiB file, each beside `docker push` or curl.
//
//	go run ./bench [-size 300M] [-runs 3] [-file-size 1G] [-rtt 25ms] [-bandwidth 0] [-tls] [-only REGEXP]
//
// BENCH_SIZE, BENCH_RUNS, BENCH_FILE_SIZE, BENCH_RTT, BENCH_BANDWIDTH,
// BENCH_TLS and BENCH_ONLY set the same as the flags. BENCH_TRACE=1 logs,
// after each plugin run through the daemon proxy, when each of its
// requests to the Docker daemon and to the servers began and ended.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/canonical/docker-charmcraft/internal/faultproxy"
)

// config is what one bench run measures, and where it writes.
type config struct {
	size, fileSize         int64
	sizeText, fileSizeText string
	runs                   int
	plugin                 string
	outDir                 string
	// only, if set, keeps the steps whose names it matches.
	only *regexp.Regexp
	// link is the network between the tools and the servers; the zero
	// Link is loopback as it is.
	link faultproxy.Link
	// rockOnly measures the rock beside skopeo alone, with no Docker
	// daemon (-only=rock).
	rockOnly bool
	// tls serves the registry over HTTPS, offering HTTP/2, behind a
	// TCP-level link (see tlsLink): the rows of issue 25.
	tls bool
}

// onlyRock, as -only, measures the rock rows alone, which need no
// Docker daemon.
const onlyRock = "rock"

// latency tells whether the run measures a link with a round-trip time:
// the rows of issue 17 rather than today's.
func (c config) latency() bool { return c.link.RTT > 0 }

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: FAILED:", err)
		os.Exit(1)
	}
}

// parseConfig reads the flags, whose defaults come from the BENCH_*
// environment variables.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	or := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	size := fs.String("size", or("BENCH_SIZE", "300M"), "total size of the test image, in 4 layers (BENCH_SIZE)")
	runs := fs.String("runs", or("BENCH_RUNS", "3"), "runs of each scenario; the table shows medians (BENCH_RUNS)")
	rtt := fs.String("rtt", or("BENCH_RTT", "0"), "round-trip time of the link to the servers, e.g. 25ms; 0 is loopback as it is (BENCH_RTT)")
	bandwidth := fs.String("bandwidth", or("BENCH_BANDWIDTH", "0"), "bytes a second the link carries each way, e.g. 12M; 0 is unbounded (BENCH_BANDWIDTH)")
	fileSize := fs.String("file-size", or("BENCH_FILE_SIZE", ""), "size of the file resource, 1G by default (1K with -rtt); 0 skips the file upload (BENCH_FILE_SIZE)")
	only := fs.String("only", or("BENCH_ONLY", ""), "measure only the steps whose names match this regular expression, e.g. 'docker push|GOMAXPROCS'; rock: the rock beside skopeo alone, with no Docker daemon (BENCH_ONLY)")
	withTLS := fs.Bool("tls", or("BENCH_TLS", "") == "1", "the registry serves HTTPS and offers HTTP/2, behind a TCP-level link of -rtt and -bandwidth, docker push through the same link (BENCH_TLS=1)")
	plugin := fs.String("plugin", "bin/docker-charmcraft", "the plugin binary, as `make build` makes it")
	out := fs.String("out", filepath.Join("bench", "results"), "directory of the JSON results")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	cfg := config{sizeText: *size, fileSizeText: *fileSize, plugin: *plugin, outDir: *out, rockOnly: *only == onlyRock, tls: *withTLS}
	var err error
	if cfg.link.RTT, err = time.ParseDuration(strings.TrimSpace(*rtt)); err != nil || cfg.link.RTT < 0 {
		return config{}, fmt.Errorf("round-trip time %q: want a duration, e.g. 25ms, or 0", *rtt)
	}
	if cfg.link.Rate, err = parseSize(*bandwidth); err != nil {
		return config{}, fmt.Errorf("bandwidth %q: want bytes a second, e.g. 12M, or 0", *bandwidth)
	}
	if cfg.fileSizeText == "" {
		cfg.fileSizeText = "1G"
		if cfg.latency() {
			cfg.fileSizeText = "1K"
		}
		if cfg.tls {
			cfg.fileSizeText = "0"
		}
	}
	if cfg.size, err = parseSize(*size); err != nil || cfg.size < 4<<20 {
		return config{}, fmt.Errorf("image size %q: want at least 4M, e.g. 300M or 1G", *size)
	}
	if cfg.fileSize, err = parseSize(cfg.fileSizeText); err != nil {
		return config{}, fmt.Errorf("file size %q: want e.g. 1G, 100M or 0", cfg.fileSizeText)
	}
	if *only != "" && !cfg.rockOnly {
		if cfg.only, err = regexp.Compile(*only); err != nil {
			return config{}, fmt.Errorf("steps %q: %w", *only, err)
		}
	}
	if cfg.runs, err = strconv.Atoi(*runs); err != nil || cfg.runs < 1 {
		return config{}, fmt.Errorf("runs %q: want a number of at least 1", *runs)
	}
	return cfg, nil
}

// parseSize reads a byte count with an optional binary suffix: 300M is
// 300 MiB, 1G is 1 GiB.
func parseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B"), "I")
	shift := 0
	if i := strings.IndexAny(t, "KMGT"); i >= 0 && i == len(t)-1 {
		shift = 10 * (1 + strings.IndexByte("KMGT", t[i]))
		t = t[:i]
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 {
		return 0, errors.New("not a size")
	}
	return int64(n * float64(int64(1)<<shift)), nil
}

// run measures every scenario and reports, on DOCKER_HOST's daemon, then
// on a containerd-store daemon (see runContainerdConfig).
func run(ctx context.Context, cfg config) error {
	store, err := runOnce(ctx, cfg)
	if err != nil || cfg.rockOnly {
		return err
	}
	return runContainerdConfig(ctx, cfg, store)
}

// runOnce measures every scenario on DOCKER_HOST's daemon, reports, and
// returns the daemon's image store. Whatever it started or made is
// removed before it returns.
func runOnce(ctx context.Context, cfg config) (string, error) {
	var err error
	if cfg.plugin, err = filepath.Abs(cfg.plugin); err != nil {
		return "", err
	}
	if _, err := os.Stat(cfg.plugin); err != nil {
		return "", fmt.Errorf("the plugin binary %s is missing: run `make build` (or `make bench`, which builds it)", cfg.plugin)
	}
	if !cfg.rockOnly {
		if err := checkDocker(ctx); err != nil {
			return "", err
		}
	}
	peers, err := findPeers(ctx)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "charmcraft-bench-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	b, err := newBench(ctx, cfg, peers, dir)
	if err != nil {
		return "", err
	}
	defer b.close()
	if err := b.runAll(ctx); err != nil {
		return "", err
	}
	rep := newReport(b)
	if err := rep.print(os.Stdout); err != nil {
		return "", err
	}
	path, err := rep.save(cfg.outDir)
	if err != nil {
		return "", err
	}
	fmt.Printf("\nResults written to %s\n", path)
	return b.store, nil
}
