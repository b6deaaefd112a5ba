package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/faultproxy"
)

// killPoint is where a run is killed: once at holds, with rules in
// force (a stall that holds the run at a stage).
type killPoint struct {
	name  string
	hub   []faultproxy.Rule
	reg   []faultproxy.Rule
	until func(f *faulty) bool
}

// killPoints are the points of an upload a run is killed at: after a
// share of the content went (sent is what went so far, whole its size),
// while the revision is being created (its answer held: Charmhub made
// it), and while its review is polled.
func killPoints(sent func(*faulty) int64, whole int64) []killPoint {
	held := faultproxy.Fault{Kind: faultproxy.StallAnswer, Delay: time.Minute}
	var pts []killPoint
	for _, share := range []int64{10, 45, 80} {
		at := whole * share / 100
		pts = append(pts, killPoint{name: "at " + strconv.FormatInt(share, 10) + "% of the content",
			until: func(f *faulty) bool { return sent(f) >= at }})
	}
	return append(pts,
		killPoint{name: "creating the revision", hub: []faultproxy.Rule{{Method: "POST", Path: apiRevisions, Fault: held}},
			until: func(f *faulty) bool { return f.hub.Count("POST", apiRevisions) > 0 }},
		killPoint{name: "polling the review", hub: []faultproxy.Rule{{Method: "GET", Path: apiReview, Fault: held}},
			until: func(f *faulty) bool { return f.hub.Count("GET", apiReview) > 0 }})
}

// killAndRunAgain starts the plugin with args in a fresh world, SIGKILLs
// it at p, and runs it again through the docker CLI, with the cache
// shared by every point: the run again must succeed. It returns the world.
func killAndRunAgain(t *testing.T, p killPoint, cache string, args ...string) *faulty {
	t.Helper()
	f := newFaulty(t)
	// Slow enough that a share of the content is a point in time.
	f.regProxy.Add(faultproxy.Rule{Method: "PATCH", Fault: faultproxy.Throttle(16 << 20)},
		faultproxy.Rule{Method: "PUT", Path: regSession, Fault: faultproxy.Throttle(16 << 20)})
	f.hubProxy.Add(faultproxy.Rule{Method: "POST", Path: storageUpload, Fault: faultproxy.Throttle(16 << 20)})
	f.hubProxy.Add(p.hub...)
	f.regProxy.Add(p.reg...)
	env := f.proxiedEnv("CHARMCRAFT_CACHE_DIR=" + cache)
	r := start(t, env, filepath.Join(configDir, "cli-plugins", "docker-charmcraft"), args...)
	waitFor(t, r, p.name, func() bool { return p.until(f) })
	if stopped, _ := r.interrupt(t, syscall.SIGKILL); stopped.code == 0 {
		t.Fatalf("the run finished before it was killed %s: %s", p.name, stopped)
	}
	f.hubProxy.Clear()
	f.regProxy.Clear()
	res := dockerCmd(t, env, append([]string{"charmcraft"}, args...)...)
	if res.code != 0 {
		t.Fatalf("the run again after a kill %s: %s", p.name, res)
	}
	return f
}

// TestImageKilledAnywhere kills an image upload (SIGKILL) at points of
// its layer, of the revision's creation and of its review, and runs it
// again: every run again succeeds, every revision names an image whose
// layers are those its config names, the cache keeps working (a last run
// sends nothing), and no temporary name is left on the daemon.
func TestImageKilledAnywhere(t *testing.T) {
	needDocker(t)
	const size = 32 << 20
	id := buildImage(t, 2331, layerSpec{size: size, random: true})
	before := namesOf(t, id)
	cache := t.TempDir()
	args := []string{"upload-resource", "my-charm", "my-image", "--image", id}
	sent := func(f *faulty) int64 { return f.regProxy.BodyBytes("", regSession) }
	for _, p := range killPoints(sent, size) {
		t.Run(p.name, func(t *testing.T) {
			f := killAndRunAgain(t, p, cache, args...)
			revs := f.hub.Revisions("my-charm", "my-image")
			if len(revs) == 0 {
				t.Fatal("no revision after the run again")
			}
			for _, rev := range revs {
				var blob struct{ ImageName string }
				if err := json.Unmarshal(rev.Content, &blob); err != nil {
					t.Fatalf("revision %d: %v", rev.Revision, err)
				}
				_, d, ok := strings.Cut(blob.ImageName, "@")
				if !ok {
					t.Fatalf("revision %d names no digest: %q", rev.Revision, blob.ImageName)
				}
				f.pull(t, imageRepo, d) // checks the layers against the config's diff IDs
			}
			if after := namesOf(t, id); after.String() != before.String() {
				t.Errorf("the daemon lists the image differently after a kill %s and a run again:\nbefore %s\nafter  %s", p.name, before, after)
			}
			f.regProxy.ClearRequests()
			res := dockerCmd(t, f.proxiedEnv("CHARMCRAFT_CACHE_DIR="+cache), append([]string{"charmcraft"}, args...)...)
			if res.code != 0 || f.regProxy.BodyBytes("", regSession) != 0 {
				t.Errorf("a last run sent %d blob bytes: %s", f.regProxy.BodyBytes("", regSession), res)
			}
		})
	}
}

// TestFileKilledAnywhere kills a file upload (SIGKILL) at points of its
// content, of the revision's creation and of its review, and runs it
// again: every run again succeeds, and every revision is the file's
// content (its sha256 and size).
func TestFileKilledAnywhere(t *testing.T) {
	const size = 32 << 20
	path := filepath.Join(t.TempDir(), "big.bin")
	content := make([]byte, size)
	for i := range content {
		content[i] = byte(i*7 + i>>11)
	}
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	want := hex.EncodeToString(sum[:])
	args := []string{"upload-resource", "my-charm", "my-file", "--filepath", path}
	sent := func(f *faulty) int64 { return f.hubProxy.BodyBytes("POST", storageUpload) }
	for _, p := range killPoints(sent, size) {
		t.Run(p.name, func(t *testing.T) {
			f := killAndRunAgain(t, p, t.TempDir(), args...)
			revs := f.hub.Revisions("my-charm", "my-file")
			if len(revs) == 0 {
				t.Fatal("no revision after the run again")
			}
			for _, rev := range revs {
				if rev.SHA256 != want || rev.Size != size {
					t.Errorf("revision %d is %s (%d bytes), want the file's %s (%d bytes)", rev.Revision, rev.SHA256, rev.Size, want, size)
				}
			}
		})
	}
}
