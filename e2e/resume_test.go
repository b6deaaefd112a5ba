package e2e

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// resumeSize is the layer of TestImageKilledUploadResumes, in MiB:
// CHARMCRAFT_TEST_RESUME_MIB, else 256, or 64 on a containerd store, whose
// exports of it take most of the test's time (the target is 1024, run by
// hand: CHARMCRAFT_TEST_RESUME_MIB=1024).
func resumeSize(t *testing.T) int {
	t.Helper()
	v := os.Getenv("CHARMCRAFT_TEST_RESUME_MIB")
	if v == "" && containerdStore(t) {
		return 64
	}
	if v == "" {
		return 256
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 16 {
		t.Fatalf("CHARMCRAFT_TEST_RESUME_MIB=%q: want a number of MiB, at least 16", v)
	}
	return n
}

// TestImageKilledUploadResumes stops the plugin once the registry got
// about half, then nine tenths, of the one large layer of an image (a
// SIGKILL, and a Ctrl-C), and runs it again through the docker CLI with
// the same cache: the run again sends only what the registry lacks.
// Distribution 2 cancels a session asked about with a state older than
// what it holds, as a request cut midway by a SIGKILL leaves it: there
// the run again after a SIGKILL starts the layer over, and only its
// success is checked. A Ctrl-C lets the chunk under way arrive first, so
// that run again resumes on both registries.
//
// A containerd-store image is pushed from its export, where the layer is
// the stored blob, sent by its digest (--platform chooses that way): a
// daemon push, the daemon's own upload, starts the layer over.
func TestImageKilledUploadResumes(t *testing.T) {
	needDocker(t)
	size := resumeSize(t) << 20
	id := buildImage(t, 2330, layerSpec{size: size, random: true})
	plugin := []string{"upload-resource", "my-charm", "my-image", "--image", id}
	if containerdStore(t) {
		plugin = append(plugin, "--platform", "linux/"+runtime.GOARCH)
	}
	for _, tt := range []struct {
		sig  syscall.Signal
		at   float64
		most float64
	}{
		{syscall.SIGKILL, 0.5, 0.55},
		{syscall.SIGKILL, 0.9, 0.15},
		{syscall.SIGINT, 0.5, 0.55},
	} {
		t.Run(tt.sig.String()+"@"+strconv.Itoa(int(100*tt.at)), func(t *testing.T) {
			f := newFaulty(t)
			cache := "CHARMCRAFT_CACHE_DIR=" + t.TempDir()
			r := start(t, f.proxiedEnv(cache), filepath.Join(configDir, "cli-plugins", "docker-charmcraft"), append(plugin, "--debug")...)
			// Off the chunks' bounds: a kill mostly cuts a chunk midway.
			at := int64(tt.at*float64(size)) + 1<<20 + 12345
			deadline := time.Now().Add(2 * time.Minute)
			for f.regProxy.BodyBytes("", regSession) < at {
				select {
				case err := <-r.done:
					r.done <- err // for the cleanup
					t.Fatalf("the run ended (%v) before the registry got %d bytes:\n%s", err, at, r.stderr.String())
				default:
				}
				if time.Now().After(deadline) {
					got := f.regProxy.BodyBytes("", regSession)
					res, _ := r.interrupt(t, syscall.SIGKILL)
					t.Fatalf("the registry got %d bytes in 2 minutes, not %d; the run: %s", got, at, res)
				}
				time.Sleep(2 * time.Millisecond)
			}
			got := f.regProxy.BodyBytes("", regSession)
			stopped, _ := r.interrupt(t, tt.sig)
			if stopped.code == 0 {
				t.Fatalf("the run finished before it was stopped: %s", stopped)
			}
			f.regProxy.ClearRequests()
			res := dockerCmd(t, f.proxiedEnv(cache), append([]string{"charmcraft"}, append(plugin, "--debug")...)...)
			if res.code != 0 || f.remoteOf(t, res) == "" {
				t.Fatalf("the run again: %s", res)
			}
			sent := f.regProxy.BodyBytes("", regSession)
			t.Logf("%s: stopped when the registry had %d of %d bytes (%.0f%%); the run again sent %d (%.0f%%)",
				os.Getenv("CHARMCRAFT_TEST_REGISTRY"), got, size, 100*float64(got)/float64(size), sent, 100*float64(sent)/float64(size))
			for _, l := range strings.Split(res.stderr, "\n") {
				if strings.Contains(l, "resuming the upload") || strings.Contains(l, "exporting the image again") ||
					strings.Contains(l, "restarting the upload") || strings.Contains(l, "lost the upload session") {
					t.Logf("the run again: %.300s", l)
				}
			}
			if os.Getenv("CHARMCRAFT_TEST_REGISTRY") == "distribution2" && tt.sig == syscall.SIGKILL {
				return
			}
			if !strings.Contains(res.stderr, "resuming the upload an earlier run left") {
				t.Errorf("the run again did not resume the upload:\n%s", res.stderr)
			}
			if float64(sent) > tt.most*float64(size) {
				t.Errorf("the run again sent %d bytes, more than %.0f%% of the %d-byte layer", sent, 100*tt.most, size)
			}
		})
	}
}
