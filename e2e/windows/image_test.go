package windows

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/faultproxy"
	"github.com/canonical/docker-charmcraft/internal/testutil"
)

var remoteDigestRE = regexp.MustCompile(`Image (?:uploaded, new|already in Canonical's registry,) remote digest: (sha256:[0-9a-f]{64})`)

// daemon is the Docker daemon on loopback TCP, behind a proxy that
// counts the calls the plugin makes to it.
type daemon struct {
	host  string // what DOCKER_HOST says to reach it directly
	proxy *faultproxy.Proxy
}

func needDaemon(t *testing.T) *daemon {
	t.Helper()
	host := os.Getenv(dockerEnv)
	if host == "" {
		if os.Getenv("CHARMCRAFT_REQUIRE_DOCKER") != "" {
			t.Fatalf("%s is not set: run scripts/matrix.sh", dockerEnv)
		}
		t.Skipf("needs a Docker daemon on loopback TCP in %s (scripts/matrix.sh starts one)", dockerEnv)
	}
	proxy, err := faultproxy.New("http://" + strings.TrimPrefix(host, "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	return &daemon{host: host, proxy: proxy}
}

// dockerHost is the DOCKER_HOST setting that reaches the daemon through
// the proxy.
func (d *daemon) dockerHost() string {
	return "DOCKER_HOST=tcp://" + strings.TrimPrefix(d.proxy.URL, "http://")
}

// saves counts the plugin's `docker save` calls.
func (d *daemon) saves() int { return d.proxy.Count("GET", "/*/images/get") }

// build builds a FROM scratch image of two random layers on the daemon
// and returns its ID.
func (d *daemon) build(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	df := "FROM scratch\n"
	// Random, so incompressible: the 4 MiB layer is larger than the blobs
	// read whole (imagepush's 2 MiB) and streams in chunks, the 512 KiB
	// one is sent whole.
	for i, size := range []int{4 << 20, 512 << 10} {
		data := make([]byte, size)
		_, _ = rand.Read(data)
		name := fmt.Sprintf("layer%d.bin", i)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		df += "COPY " + name + " /" + name + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	return testutil.DockerBuild(t, []string{"DOCKER_HOST=" + d.host}, dir)
}

// cacheEntries counts the files of the layer cache in its default place,
// %LOCALAPPDATA%\docker-charmcraft.
func cacheEntries(t *testing.T) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(filepath.Join(profile(), "AppData", "Local", "docker-charmcraft"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// TestUploadImage uploads an image from the real daemon over loopback
// TCP, then again: the second time the layer cache in %LOCALAPPDATA%
// gives the manifest, with no docker save and nothing pushed, and the
// revision names the same remote digest.
func TestUploadImage(t *testing.T) {
	d := needDaemon(t)
	freshProfile(t)
	w := newWorld(t)
	id := d.build(t)
	upload := func(image string, extra ...string) (result, string) {
		t.Helper()
		res := runPlugin(t, "", w.env(true, append([]string{d.dockerHost()}, extra...)...), "upload-resource", "my-charm", "my-image", "--image", image)
		noTrace(t, res)
		if m := remoteDigestRE.FindStringSubmatch(res.stderr); m != nil {
			return res, m[1]
		}
		return res, ""
	}

	res, remote := upload(strings.TrimPrefix(id, "sha256:")[:12])
	if res.code != 0 || remote == "" || res.stdout != "Revision 1 created of resource 'my-image' for charm 'my-charm'\n" ||
		!strings.Contains(res.stderr, "Remote image not found, uploading from local registry\n") ||
		!strings.Contains(res.stderr, "Image uploaded, new remote digest: "+remote+"\n") {
		t.Fatalf("first upload: %s", res)
	}
	if got := w.configOf(t, remote); got != id {
		t.Errorf("the registry's manifest has config %s, want the image ID %s", got, id)
	}
	if got, want := w.lastImage(), w.reg.Host+"/"+imageRepo+"@"+remote; got != want {
		t.Errorf("revision 1 names %q, want %q", got, want)
	}
	if d.saves() != 1 {
		t.Errorf("%d docker save calls, want 1", d.saves())
	}
	if n := cacheEntries(t); n == 0 {
		t.Errorf(`nothing in the layer cache at %%LOCALAPPDATA%%\docker-charmcraft`)
	}

	pushes := w.regProxy.Count("PATCH", "") + w.regProxy.Count("PUT", "")
	res, again := upload(id)
	if res.code != 0 || res.stdout != "Revision 2 created of resource 'my-image' for charm 'my-charm'\n" ||
		(again != "" && again != remote) || w.lastImage() != w.reg.Host+"/"+imageRepo+"@"+remote {
		t.Fatalf("second upload: want revision 2 of remote digest %s again; got %s", remote, res)
	}
	if !strings.Contains(res.stderr, "Using the OCI image from Canonical's registry") && !strings.Contains(res.stderr, "Image already in Canonical's registry") {
		t.Errorf("the second upload does not say the image is in the registry already: %s", res)
	}
	if n := w.regProxy.Count("PATCH", "") + w.regProxy.Count("PUT", "") - pushes; n != 0 || d.saves() != 1 {
		t.Errorf("second upload: %d pushes and %d docker save in all; want none and one", n, d.saves())
	}

	res = runPlugin(t, "", w.env(true, d.dockerHost()), "upload-resource", "my-charm", "my-image", "--image", id, "--format", "json")
	var out struct {
		Revision int
		Digest   string
	}
	if err := json.Unmarshal([]byte(res.stdout), &out); res.code != 0 || err != nil || out.Revision != 3 || out.Digest != remote {
		t.Errorf("--format json: want revision 3 of %s (%v); got %s", remote, err, res)
	}
}

// TestUploadImageResetMidBlob resets the connection while a layer is
// sent: Windows reports it as WSAECONNRESET or WSAECONNABORTED, which
// must count as a broken connection, so that the chunk is sent again in
// its session and the upload succeeds.
func TestUploadImageResetMidBlob(t *testing.T) {
	d := needDaemon(t)
	freshProfile(t)
	w := newWorld(t)
	id := d.build(t)
	w.regProxy.Add(faultproxy.Rule{Method: "PATCH", Times: 1, Fault: faultproxy.ResetAfter(256 << 10)})
	res := runPlugin(t, "", w.env(true, d.dockerHost()), "upload-resource", "my-charm", "my-image", "--image", id, "--debug")
	if w.regProxy.Faulted() == 0 {
		t.Fatal("no fault was injected")
	}
	if res.code != 0 || !strings.Contains(res.stderr, "asking the upload session where it stands") ||
		res.stdout != "Revision 1 created of resource 'my-image' for charm 'my-charm'\n" {
		t.Fatalf("want the chunk sent again and the image uploaded; got %s", res)
	}
	m := remoteDigestRE.FindStringSubmatch(res.stderr)
	if m == nil || w.configOf(t, m[1]) != id {
		t.Errorf("the registry does not hold the image: %s", res)
	}
	noTrace(t, res)
}

// TestFileResetMidUpload resets the storage upload midway: it is sent
// again.
func TestFileResetMidUpload(t *testing.T) {
	w := newWorld(t)
	dir := workDir(t)
	data := writeFile(t, dir, "data.bin", 3<<20, 0o644)
	w.hubProxy.Add(faultproxy.Rule{Path: "/storage/unscanned-upload/", Times: 1, Fault: faultproxy.ResetAfter(1 << 20)})
	res := runPlugin(t, dir, w.env(true), "upload-resource", "my-charm", "my-file", "--filepath", "data.bin", "--debug")
	if w.hubProxy.Faulted() == 0 {
		t.Fatal("no fault was injected")
	}
	revs := w.hub.Revisions("my-charm", "my-file")
	if res.code != 0 || !strings.Contains(res.stderr, "retrying POST /storage/unscanned-upload/") || len(revs) != 1 || !bytes.Equal(revs[0].Content, data) {
		t.Fatalf("want the upload sent again and one revision with the file; got %d revisions, %s", len(revs), res)
	}
	noTrace(t, res)
}

// TestNoDaemon runs an image upload without DOCKER_HOST: the error names
// Docker Desktop's pipe, and no revision is made.
func TestNoDaemon(t *testing.T) {
	w := newWorld(t)
	res := runPlugin(t, "", w.env(true), "upload-resource", "my-charm", "my-image", "--image", "sha256:"+strings.Repeat("ab", 32))
	if res.code != 1 || res.stdout != "" || !strings.Contains(res.stderr, "cannot reach the Docker daemon") ||
		!strings.Contains(res.stderr, "npipe:////./pipe/docker_engine") {
		t.Errorf("want a failure naming npipe:////./pipe/docker_engine; got %s", res)
	}
	if n := len(w.hub.Revisions("my-charm", "my-image")); n != 0 {
		t.Errorf("%d revisions", n)
	}
	noTrace(t, res)
}
