package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/faultproxy"
)

// running is a command started in the background.
type running struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan error
}

func start(t *testing.T, env []string, name string, args ...string) *running {
	t.Helper()
	r := &running{cmd: exec.CommandContext(t.Context(), name, args...), done: make(chan error, 1)} //nolint:gosec // the plugin or docker, by the test
	r.cmd.Env = append(baseEnv(), env...)
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.done //nolint:errcheck // the process was killed
	})
	return r
}

// waitFor waits until cond holds, failing the test after a while.
func waitFor(t *testing.T, r *running, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		select {
		case err := <-r.done:
			r.done <- err // for the cleanup
			t.Fatalf("the command ended (%v) before %s:\n%s\n%s", err, what, r.stdout.String(), r.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen:\n%s", what, r.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// interrupt sends sig and returns how the command ended and how long it
// took.
func (r *running) interrupt(t *testing.T, sig os.Signal) (result, time.Duration) {
	t.Helper()
	sent := time.Now()
	if err := r.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10s after %v:\n%s", sig, r.stderr.String())
	}
	took := time.Since(sent)
	res := result{stdout: r.stdout.String(), stderr: r.stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.code = ee.ExitCode()
	}
	r.done <- err // for the cleanup
	return res, took
}

// checkCancelled checks what a cancelled run must leave: a quick exit, a
// one-word reason, no revision, no temporary file, nothing more sent.
func checkCancelled(t *testing.T, f *faulty, res result, took time.Duration, tmp, resource string) {
	t.Helper()
	if took > 2*time.Second {
		t.Errorf("took %s to stop, want at most 2s", took)
	}
	if res.code == 0 || res.stdout != "" || !strings.Contains(res.stderr, "cancelled") {
		t.Errorf("want a failure saying it was cancelled; got %s", res)
	}
	noTrace(t, res)
	seen := len(f.hubProxy.Requests()) + len(f.regProxy.Requests())
	time.Sleep(300 * time.Millisecond)
	if now := len(f.hubProxy.Requests()) + len(f.regProxy.Requests()); now != seen {
		t.Errorf("%d requests sent after the command ended", now-seen)
	}
	if n := f.hubProxy.Count("POST", apiRevisions); n != 0 {
		t.Errorf("%d revision requests", n)
	}
	if n := len(f.hub.Revisions("my-charm", resource)); n != 0 {
		t.Errorf("%d revisions created", n)
	}
	if n := len(f.hub.Uploads()); n != 0 {
		t.Errorf("storage received %d uploads in full", n)
	}
	for _, dir := range []string{tmp, f.cacheDir} {
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && path != dir && (dir == tmp || strings.HasPrefix(d.Name(), ".tmp")) {
				t.Errorf("left behind: %s", path)
			}
			return nil
		})
	}
}

// cancelRun is a run of the plugin, and the signal that interrupts it.
type cancelRun struct {
	name string
	sig  os.Signal
	cmd  []string
}

// cancelRuns are the ways a run of the plugin with args is interrupted:
// each of direct, run directly, then SIGINT to the docker CLI, which
// tells the plugin through its socket.
func cancelRuns(args []string, direct ...os.Signal) []cancelRun {
	plugin := filepath.Join(configDir, "cli-plugins", "docker-charmcraft")
	var runs []cancelRun
	for _, sig := range direct {
		runs = append(runs, cancelRun{sig.String() + ", direct", sig, append([]string{plugin}, args...)})
	}
	return append(runs, cancelRun{"interrupt to docker", os.Interrupt, append([]string{"docker", "--config", configDir, "charmcraft"}, args...)})
}

// TestCancelFileUpload interrupts a file upload slowed down to 1 MB/s,
// run directly (SIGINT, SIGTERM) and through docker (SIGINT to the docker
// CLI, which tells the plugin through its socket).
func TestCancelFileUpload(t *testing.T) {
	path, _ := writeFile(t, "big.bin", 32<<20)
	for _, tt := range cancelRuns([]string{"upload-resource", "my-charm", "my-file", "--filepath", path}, os.Interrupt, syscall.SIGTERM) {
		t.Run(tt.name, func(t *testing.T) {
			f := newFaulty(t)
			f.hubProxy.Add(faultproxy.Rule{Path: storageUpload, Fault: faultproxy.Throttle(1 << 20)})
			tmp := t.TempDir()
			r := start(t, f.proxiedEnv("TMPDIR="+tmp), tt.cmd[0], tt.cmd[1:]...)
			waitFor(t, r, "the upload", func() bool { return f.hubProxy.Count("POST", storageUpload) > 0 })
			time.Sleep(500 * time.Millisecond)
			res, took := r.interrupt(t, tt.sig)
			t.Logf("stopped %s after %v: exit %d, stderr %q", took, tt.sig, res.code, res.stderr)
			checkCancelled(t, f, res, took, tmp, "my-file")
		})
	}
}

// TestCancelImageUpload interrupts an image push slowed down to 1 MB/s:
// no manifest is pushed, no revision made. A layer compressed by the
// plugin is streamed with PATCH; one the containerd store holds
// compressed already goes in one PUT.
func TestCancelImageUpload(t *testing.T) {
	needDocker(t)
	id := buildImage(t, 606, layerSpec{size: 16 << 20, random: true})
	for _, tt := range cancelRuns([]string{"upload-resource", "my-charm", "my-image", "--image", id}, os.Interrupt) {
		t.Run(tt.name, func(t *testing.T) {
			f := newFaulty(t)
			f.regProxy.Add(faultproxy.Rule{Method: "PATCH", Fault: faultproxy.Throttle(1 << 20)},
				faultproxy.Rule{Method: "PUT", Path: regSession, Fault: faultproxy.Throttle(1 << 20)})
			tmp := t.TempDir()
			r := start(t, f.proxiedEnv("TMPDIR="+tmp), tt.cmd[0], tt.cmd[1:]...)
			waitFor(t, r, "the push", func() bool { return f.regProxy.Count("PATCH", "")+f.regProxy.Count("PUT", regSession) > 0 })
			time.Sleep(500 * time.Millisecond)
			res, took := r.interrupt(t, tt.sig)
			t.Logf("stopped %s after %v: exit %d, stderr %q", took, tt.sig, res.code, res.stderr)
			checkCancelled(t, f, res, took, tmp, "my-image")
			if n := f.regProxy.Count("PUT", regManifest); n != 0 {
				t.Errorf("%d manifests pushed", n)
			}
			_ = f.checkBlobs(t) // a cancelled push may have stored some blobs, or none
		})
	}
}
