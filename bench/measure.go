//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sample is what one run of one command cost.
type sample struct {
	Wall      time.Duration `json:"wall_ns"`
	CPU       time.Duration `json:"cpu_ns"`        // user+sys of the command and its children
	DaemonCPU time.Duration `json:"daemon_cpu_ns"` // user+sys of dockerd meanwhile
	MaxRSS    int64         `json:"max_rss_bytes"` // of the command's process (VmHWM)
	BlobBytes int64         `json:"blob_bytes"`    // blob upload bodies the registry received
	// Requests counts the HTTP requests (round trips) the command sent to
	// the registry and Charmhub, RegistryRequests those to the registry.
	Requests         int64 `json:"requests"`
	RegistryRequests int64 `json:"registry_requests"`
	// StorageBytes and StorageTime are those of uploads to Charmhub
	// storage, as the proxy saw them.
	StorageBytes int64         `json:"storage_bytes"`
	StorageTime  time.Duration `json:"storage_ns"`
	// ImagePart is the plugin's time between getting registry
	// credentials and asking for the image blob: the image's share.
	ImagePart time.Duration `json:"image_part_ns,omitempty"`
	// ImageSaves counts image exports asked of the daemon; -1 when not
	// counted.
	ImageSaves int64 `json:"image_saves"`
	// ChangedLayerBytes and ConfigBytes are the sizes of the changed
	// layer and config blobs of the pushed variant (one-layer-changed).
	ChangedLayerBytes int64 `json:"changed_layer_bytes,omitempty"`
	ConfigBytes       int64 `json:"config_bytes,omitempty"`
	// WholeBytes is what a cold upload of the image sends, and
	// KilledAtBytes what the registry got of it when the run was killed
	// (run-again-after-a-kill).
	WholeBytes    int64 `json:"whole_bytes,omitempty"`
	KilledAtBytes int64 `json:"killed_at_bytes,omitempty"`
	// WrongRemote is 1 when the upload ended on another remote manifest
	// than the one wanted (other-compressor, two-runners); in a summary,
	// the number of runs that did.
	WrongRemote int64 `json:"wrong_remote,omitempty"`
	// Store is the daemon's image store (storeClassic, storeContainerd).
	Store string `json:"store"`
	// Strategy is how a plugin run through the daemon proxy pushed the
	// image (see strategyOf); "" when not counted.
	Strategy string `json:"strategy,omitempty"`
	// LinkBytes and LinkConns are, with -tls, the bytes that crossed the
	// link to the registry (TLS records, requests and blobs) and the
	// connections it carried.
	LinkBytes int64 `json:"link_bytes_up,omitempty"`
	LinkConns int64 `json:"link_conns,omitempty"`
	// Load is the 1, 5 and 15 minute load averages when the run began.
	Load string `json:"loadavg,omitempty"`
	// PushCall and ListCalls are, for a plugin run through the daemon
	// proxy, how long the daemon's push (ImagePush, to its end) and its
	// image listings (ImageList) took: the daemon's share of the run.
	PushCall  time.Duration `json:"push_call_ns,omitempty"`
	ListCalls time.Duration `json:"list_calls_ns,omitempty"`
}

// command is one command to run, in the minimal environment plus env.
func command(ctx context.Context, env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(baseEnv(), env...)
	return cmd
}

// baseEnv keeps only what a command needs from ours, so that a
// developer's own CHARMCRAFT_* or proxy settings do not leak in.
func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "DOCKER_HOST"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// runQuiet runs an untimed command, failing with its output.
func runQuiet(cmd *exec.Cmd) error {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", describe(cmd), err, tail(string(out), 2000))
	}
	return nil
}

// measure runs cmd and samples its cost. A failed command is an error.
func (b *bench) measure(cmd *exec.Cmd) (sample, error) {
	var stdout, stderr bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = &stdout
	}
	cmd.Stderr = &stderr
	b.world.proxy.reset()
	if b.world.tls != nil {
		b.world.tls.tcp.Reset()
	}
	load := loadAvg()
	viaProxy := b.daemon != nil && slices.Contains(cmd.Env, "DOCKER_HOST=unix://"+b.daemon.sock)
	saves0 := b.daemonSaves()
	var pushes0 int64
	if b.daemon != nil {
		pushes0 = b.daemon.pushes()
	}
	d0 := daemonCPU()
	began := time.Now()
	wall, peak, err := runWatched(cmd)
	s := sample{Wall: wall, DaemonCPU: daemonCPU() - d0, MaxRSS: peak, Store: b.store, Load: load}
	if b.world.tls != nil {
		s.LinkBytes, _ = b.world.tls.tcp.Sent()
		s.LinkConns = b.world.tls.tcp.Conns()
	}
	if err != nil {
		return s, fmt.Errorf("%s: %w\n%s", describe(cmd), err, tail(stdout.String()+stderr.String(), 2000))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.CPU = time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
	}
	t := b.world.proxy.counted()
	s.BlobBytes, s.StorageBytes, s.StorageTime, s.ImagePart = t.blobBytes, t.storageBytes, t.storageTime, t.imagePart
	s.Requests, s.RegistryRequests = t.requests, t.registryRequests
	s.ImageSaves = -1
	if viaProxy {
		s.ImageSaves = b.daemonSaves() - saves0
		if cmd.Path == b.cfg.plugin || strings.HasSuffix(cmd.Path, "docker-charmcraft") {
			s.Strategy = strategyOf(b.daemon.pushes()-pushes0, s.ImageSaves)
			s.PushCall, s.ListCalls = b.daemon.callTimes(began)
			if os.Getenv("BENCH_TRACE") != "" {
				b.trace(began, wall)
			}
		}
	}
	return s, nil
}

// runWatched runs cmd and returns its wall time and peak RSS. The peak
// is polled from /proc (VmHWM), not taken from rusage: after Go's
// vfork and exec, ru_maxrss starts from the parent's peak, ours.
func runWatched(cmd *exec.Cmd) (time.Duration, int64, error) {
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	done, peak := make(chan struct{}), make(chan int64, 1)
	go func() { peak <- watchPeakRSS(cmd.Process.Pid, done) }()
	err := cmd.Wait()
	wall := time.Since(start)
	close(done)
	return wall, <-peak, err
}

// watchPeakRSS polls the peak RSS of process pid every few milliseconds
// until done is closed, and returns the largest seen.
func watchPeakRSS(pid int, done <-chan struct{}) int64 {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	var peak int64
	status := fmt.Sprintf("/proc/%d/status", pid)
	for {
		peak = max(peak, vmHWM(status))
		select {
		case <-done:
			return peak
		case <-tick.C:
		}
	}
}

// vmHWM reads the VmHWM line of a /proc status file, in bytes; 0 once
// the process has exited.
func vmHWM(status string) int64 {
	data, err := os.ReadFile(status)
	if err != nil {
		return 0
	}
	_, rest, ok := bytes.Cut(data, []byte("VmHWM:"))
	if !ok {
		return 0
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(line)), " kB"), 10, 64)
	return kb << 10
}

// describe names a command for messages, without its credentials.
func describe(cmd *exec.Cmd) string {
	args := slices.Clone(cmd.Args)
	args[0] = filepath.Base(args[0])
	for i, a := range args {
		if i > 0 && args[i-1] == "--dest-creds" {
			args[i] = "REDACTED"
		}
		if strings.HasPrefix(a, "Authorization:") {
			args[i] = "Authorization: REDACTED"
		}
	}
	return strings.Join(args, " ")
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// clockTick is Linux's USER_HZ, the unit of CPU times in /proc.
const clockTick = 10 * time.Millisecond

// daemonCPU is the CPU time used so far by the processes named dockerd,
// which do the work of `docker push` and of every image export.
func daemonCPU() time.Duration {
	var total time.Duration
	pids, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range pids {
		data, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(data, []byte("(dockerd)")) {
			continue
		}
		// Fields after "(comm) ": state is the first, utime the 12th
		// and stime the 13th.
		f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(u+st) * clockTick
	}
	return total
}

// summarize is a scenario's runs in one sample: the median of every
// measure, but the largest RSS and image exports, the number of runs that
// ended on another manifest, the runs' loads, and the first run's store
// and strategy.
func summarize(runs []sample) sample {
	var sum sample
	fields := reflect.ValueOf(&sum).Elem()
	for i := range fields.NumField() {
		if fields.Field(i).Kind() != reflect.Int64 { // int64 and time.Duration
			continue
		}
		v := make([]int64, len(runs))
		for j, s := range runs {
			v[j] = reflect.ValueOf(s).Field(i).Int()
		}
		fields.Field(i).SetInt(median(v))
	}
	sum.MaxRSS, sum.ImageSaves, sum.WrongRemote = 0, -1, 0
	for _, s := range runs {
		sum.MaxRSS, sum.ImageSaves = max(sum.MaxRSS, s.MaxRSS), max(sum.ImageSaves, s.ImageSaves)
		sum.WrongRemote += s.WrongRemote
	}
	sum.Load = loads(runs)
	if len(runs) > 0 {
		sum.Store, sum.Strategy = runs[0].Store, runs[0].Strategy
	}
	return sum
}

// loads is the 1-minute load averages of the runs, in order.
func loads(runs []sample) string {
	var l []string
	for _, s := range runs {
		if f := strings.Fields(s.Load); len(f) > 0 {
			l = append(l, f[0])
		}
	}
	return strings.Join(l, ", ")
}

func median(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}
