//go:build linux

// Command bench measures `docker charmcraft upload-resource` side by side
// with `docker push`, `skopeo copy`, `crane push` and `curl`, in one run,
// against one registry: the embedded registry with token auth and the
// Charmhub test server, on loopback, behind a proxy that counts the blob
// bytes each tool sends. It builds its own images on the local Docker
// daemon, prints a table and the ratios of issue 4, and writes them as
// JSON under bench/results/.
//
//	go run ./bench [-size 300M] [-runs 3] [-file-size 1G]
//
// BENCH_SIZE, BENCH_RUNS and BENCH_FILE_SIZE set the same as the flags.
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
	"strconv"
	"strings"
	"syscall"
)

// config is what one bench run measures, and where it writes.
type config struct {
	size, fileSize         int64
	sizeText, fileSizeText string
	runs                   int
	plugin                 string
	outDir                 string
}

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
	fileSize := fs.String("file-size", or("BENCH_FILE_SIZE", "1G"), "size of the file resource; 0 skips the file upload (BENCH_FILE_SIZE)")
	plugin := fs.String("plugin", "bin/docker-charmcraft", "the plugin binary, as `make build` makes it")
	out := fs.String("out", filepath.Join("bench", "results"), "directory of the JSON results")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	cfg := config{sizeText: *size, fileSizeText: *fileSize, plugin: *plugin, outDir: *out}
	var err error
	if cfg.size, err = parseSize(*size); err != nil || cfg.size < 4<<20 {
		return config{}, fmt.Errorf("image size %q: want at least 4M, e.g. 300M or 1G", *size)
	}
	if cfg.fileSize, err = parseSize(*fileSize); err != nil {
		return config{}, fmt.Errorf("file size %q: want e.g. 1G, 100M or 0", *fileSize)
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
	if err != nil {
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
	if err := checkDocker(ctx); err != nil {
		return "", err
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
