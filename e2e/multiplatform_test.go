package e2e

import (
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/faultproxy"
	"github.com/canonical/docker-charmcraft/internal/transport"
)

// The tests of this file run on the containerd image store only: the
// classic store keeps one platform per image. Their images are loaded
// from OCI layouts written here (no pulls, no buildx), named multi-e2e-*.

// needContainerdStore skips the test unless the daemon of the tests keeps
// its images in containerd's image store.
func needContainerdStore(t *testing.T) {
	t.Helper()
	needDocker(t)
	if !containerdStore(t) {
		t.Skip("needs the containerd image store (the d26c daemon of the matrix)")
	}
}

// multiImage is a 2-platform index (amd64 and arm64, each with its
// buildx-style attestation manifest) loaded into the daemon.
type multiImage struct {
	id            string // the index digest: the image ID
	amd64, arm64  ociDesc
	layout        *ociLayout
	attestationOf map[string]ociDesc // platform manifest digest -> its attestation
}

// loadMulti writes and loads a 2-platform index under name; omitArm64
// leaves the arm64 image's manifest, config and layer out of the layout,
// as a pull of one platform leaves it.
func loadMulti(t *testing.T, seed uint64, name string, omitArm64 bool) *multiImage {
	t.Helper()
	l := newOCILayout()
	m := &multiImage{layout: l, attestationOf: map[string]ociDesc{}}
	m.amd64 = l.platformImage("amd64", seed, 1<<20)
	m.arm64 = l.platformImage("arm64", seed, 1<<20)
	attAmd, attArm := l.attestation(m.amd64), l.attestation(m.arm64)
	m.attestationOf[m.amd64.Digest], m.attestationOf[m.arm64.Digest] = attAmd, attArm
	idx := l.index(m.amd64, m.arm64, attAmd, attArm)
	var omit []string
	if omitArm64 {
		omit = append(l.blobsOf(m.arm64), l.blobsOf(attArm)...)
	}
	dockerLoad(t, l.tarball(t, idx, name, omit...), name)
	m.id = imageID(t, name)
	if m.id != idx.Digest {
		t.Fatalf("docker load gave image ID %s, want the index digest %s", m.id, idx.Digest)
	}
	return m
}

// manifestBytes reads manifest d from the registry and checks it hashes to d.
func (w *world) manifestBytes(t *testing.T, d string) (string, []byte) {
	t.Helper()
	resp := w.registryGet(t, imageRepo, "/manifests/"+d,
		"application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
		"application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET manifest %s: %s", d, resp.Status)
	}
	body, _ := io.ReadAll(resp.Body)
	if got := fmt.Sprintf("sha256:%x", sha256.Sum256(body)); got != d {
		t.Fatalf("manifest %s: its bytes hash to %s", d, got)
	}
	return resp.Header.Get("Content-Type"), body
}

// checkWhole checks that the registry holds the index m.id byte for byte,
// and every manifest it lists with every blob: the platform images pulled
// and checked layer by layer, the attestations' blobs present.
func (w *world) checkWhole(t *testing.T, m *multiImage) {
	t.Helper()
	_, body := w.manifestBytes(t, m.id)
	var idx struct {
		Manifests []ociDesc `json:"manifests"`
	}
	if err := json.Unmarshal(body, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 4 {
		t.Fatalf("the pushed index lists %d manifests, want 4", len(idx.Manifests))
	}
	w.pull(t, imageRepo, m.amd64.Digest)
	w.pull(t, imageRepo, m.arm64.Digest)
	for _, att := range m.attestationOf {
		w.manifestBytes(t, att.Digest)
		for _, b := range m.layout.blobsOf(att)[1:] {
			if resp := w.registryGet(t, imageRepo, "/blobs/"+b); resp.StatusCode != http.StatusOK {
				t.Errorf("attestation blob %s: %s", b, resp.Status)
			}
		}
	}
}

func TestMultiPlatformImageUploadedWhole(t *testing.T) {
	needContainerdStore(t)
	w := newWorld(t)
	m := loadMulti(t, 1301, "multi-e2e-whole:1", false)
	hex := strings.TrimPrefix(m.id, "sha256:")

	res := dockerCmd(t, w.env(ownerToken), "charmcraft", "upload-resource", "my-charm", "my-image", "--image", hex[:12], "--debug")
	remote := w.remoteOf(t, res)
	if res.code != 0 {
		t.Fatalf("short ID: %s", res)
	}
	// The daemon of the tests is on this machine: it pushes the image
	// itself, the fast way, which --debug names.
	if !strings.Contains(res.stderr, "image pushed by daemon push\n") {
		t.Errorf("--debug does not say the daemon pushed the image: %s", res)
	}
	// Which way it went, and why. Docker 28 pushes to a registry off
	// this machine's loopback directly (it uploads a blob whose mount
	// another charm's repository refuses), with no relay. Otherwise the
	// daemon reached the relay (the probe), before any credential was
	// sent; a daemon in a network namespace does not, and pushes to the
	// registry directly.
	direct := "daemon push: the Docker daemon pushes to " + w.reg.Host + " directly"
	switch {
	case daemonMajor(t) >= 28 && !transport.Loopback(w.reg.Host):
		if !strings.Contains(res.stderr, direct+": it speaks API 1.") || strings.Contains(res.stderr, "daemon push: the relay") ||
			strings.Contains(res.stderr, "reached the relay") {
			t.Errorf("--debug does not say Docker 28 pushed directly, with no relay: %s", res)
		}
	case inNetns():
		if !strings.Contains(res.stderr, "daemon push: the relay is not used: the Docker daemon did not reach the relay") ||
			!strings.Contains(res.stderr, direct) {
			t.Errorf("--debug does not say the daemon in its network namespace pushed directly, not through the relay: %s", res)
		}
	case !strings.Contains(res.stderr, "daemon push: the Docker daemon reached the relay at 127.13."):
		t.Errorf("--debug does not say the daemon reached the relay: %s", res)
	}
	if remote != m.id {
		t.Errorf("remote digest %s, want the index digest %s", remote, m.id)
	}
	if !strings.Contains(res.stderr, "Image uploaded, new remote digest: "+m.id+"\n") {
		t.Errorf("stderr lacks the upload line: %s", res)
	}
	w.checkWhole(t, m)
	if got := w.lastArchs(t, "my-image"); !slices.Equal(got, []string{"amd64", "arm64"}) {
		t.Errorf("architectures %v, want [amd64 arm64] (the attestations are none)", got)
	}
}

// TestMultiPlatformImageAgain uploads an index, then again by its long
// ID and by its RepoDigest: the registry has it, so nothing is exported
// and no blob byte is sent.
func TestMultiPlatformImageAgain(t *testing.T) {
	needContainerdStore(t)
	w := newWorld(t)
	daemon := recordDaemon(t)
	reg := w.countRegistry(t)
	name := "multi-e2e-again:1"
	m := loadMulti(t, 1302, name, false)
	env := w.env(ownerToken, "CHARMCRAFT_REGISTRY_URL="+reg.url, "DOCKER_HOST="+daemon.host)

	// By RepoDigest, first: on this store an image never pushed lists
	// name@<its ID> already.
	out, err := dockerOutput("image", "inspect", "--format", "{{json .RepoDigests}}", name)
	if err != nil {
		t.Fatal(err)
	}
	var repoDigests []string
	_ = json.Unmarshal(out, &repoDigests)
	var byRepoDigest string
	for _, rd := range repoDigests {
		if _, d, ok := strings.Cut(rd, "@"); ok {
			byRepoDigest = d
		}
	}
	if byRepoDigest == "" {
		t.Fatalf("%s has no RepoDigests: %s", name, out)
	}
	res := dockerCmd(t, env, "charmcraft", "upload-resource", "my-charm", "my-image", "--image", byRepoDigest)
	if remote := w.remoteOf(t, res); remote != m.id {
		t.Fatalf("by RepoDigest %s: remote %q, want %s: %s", byRepoDigest, remote, m.id, res)
	}
	w.checkWhole(t, m)

	for _, again := range []string{m.id, strings.TrimPrefix(m.id, "sha256:")[:12]} {
		before, saves := reg.blobBytes(), daemon.count("/images/get")
		res := dockerCmd(t, env, "charmcraft", "upload-resource", "my-charm", "my-image", "--image", again)
		if remote := w.remoteOf(t, res); remote != m.id {
			t.Fatalf("again by %s: remote %q: %s", again, remote, res)
		}
		if !strings.Contains(res.stderr, "Using the OCI image from Canonical's registry\n") {
			t.Errorf("again by %s: stderr lacks the reuse line: %s", again, res)
		}
		if sent, exports := reg.blobBytes()-before, daemon.count("/images/get")-saves; sent != 0 || exports != 0 {
			t.Errorf("again by %s: %d blob bytes sent, %d docker save; want none", again, sent, exports)
		}
		if got := w.lastArchs(t, "my-image"); !slices.Equal(got, []string{"amd64", "arm64"}) {
			t.Errorf("again by %s: architectures %v, want [amd64 arm64]", again, got)
		}
	}
}

// TestMultiPlatformImageIncomplete loads an index whose arm64 content is
// absent: the upload is refused, naming what is there and what is not,
// and --platform picks what is there.
func TestMultiPlatformImageIncomplete(t *testing.T) {
	needContainerdStore(t)
	w := newWorld(t)
	m := loadMulti(t, 1303, "multi-e2e-incomplete:1", true)

	res, _ := w.uploadImage(t, m.id)
	if res.code != 1 {
		t.Fatalf("an incomplete index was not refused: %s", res)
	}
	for _, want := range []string{"linux/amd64", "linux/arm64", "--platform"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("the refusal does not mention %s: %s", want, res)
		}
	}
	noTrace(t, res)
	t.Logf("refused: %s", res.stderr)
	if n := len(w.hub.Revisions("my-charm", "my-image")); n != 0 {
		t.Errorf("%d revisions created, want none", n)
	}
	if resp := w.registryGet(t, imageRepo, "/manifests/"+m.id, "application/vnd.oci.image.index.v1+json"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the registry answers %s for the index, want 404: no part of it may be pushed as if whole", resp.Status)
	}

	res = dockerCmd(t, w.env(ownerToken), "charmcraft", "upload-resource", "my-charm", "my-image", "--image", m.id, "--platform", "linux/amd64")
	remote := w.remoteOf(t, res)
	if remote != m.amd64.Digest {
		t.Fatalf("--platform linux/amd64: remote %q, want the amd64 manifest %s: %s", remote, m.amd64.Digest, res)
	}
	w.pull(t, imageRepo, remote)
	if got := w.lastArchs(t, "my-image"); !slices.Equal(got, []string{"amd64"}) {
		t.Errorf("--platform linux/amd64: architectures %v, want [amd64]", got)
	}

	res = dockerCmd(t, w.env(ownerToken), "charmcraft", "upload-resource", "my-charm", "my-image", "--image", m.id, "--platform", "linux/arm64")
	if res.code != 1 || !strings.Contains(res.stderr, "linux/arm64") {
		t.Errorf("--platform linux/arm64, which is absent, was not refused: %s", res)
	}
}

// TestSinglePlatformImageOnContainerd loads one image manifest, no index:
// it is pushed as it is, and --platform must name its platform.
func TestSinglePlatformImageOnContainerd(t *testing.T) {
	needContainerdStore(t)
	w := newWorld(t)
	l := newOCILayout()
	arm := l.platformImage("arm64", 1304, 1<<20)
	name := "multi-e2e-single:1"
	dockerLoad(t, l.tarball(t, arm, name), name)
	id := imageID(t, name)
	if id != arm.Digest {
		t.Fatalf("image ID %s, want the manifest digest %s", id, arm.Digest)
	}

	res := dockerCmd(t, w.env(ownerToken), "charmcraft", "upload-resource", "my-charm", "my-image", "--image", id, "--platform", "linux/amd64")
	if res.code != 1 || !strings.Contains(res.stderr, "linux/arm64") {
		t.Errorf("--platform linux/amd64 of an arm64 image was not refused, naming its platform: %s", res)
	}
	if n := len(w.hub.Revisions("my-charm", "my-image")); n != 0 {
		t.Errorf("%d revisions created, want none", n)
	}

	res, remote := w.uploadImage(t, strings.TrimPrefix(id, "sha256:")[:12])
	if remote != id {
		t.Fatalf("remote %q, want the image ID %s: %s", remote, id, res)
	}
	w.pull(t, imageRepo, remote)
	if got := w.lastArchs(t, "my-image"); !slices.Equal(got, []string{"arm64"}) {
		t.Errorf("architectures %v, want [arm64]", got)
	}
}

// TestPlatformFlagRefusedImage checks the refusals of --platform made
// before any network call.
func TestPlatformFlagRefusedImage(t *testing.T) {
	path, _ := writeFile(t, "data.bin", 10)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"file", []string{"my-file", "--filepath", path, "--platform", "linux/amd64"}, "--platform"},
		{"no os", []string{"my-image", "--image", "sha256:" + strings.Repeat("a", 64), "--platform", "arm64"}, "linux/arm64"},
		{"empty item", []string{"my-image", "--image", "sha256:" + strings.Repeat("a", 64), "--platform", "linux/amd64,"}, "--platform"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Nothing listens there: a refusal that came after a network
			// call would say so instead.
			env := []string{"CHARMCRAFT_STORE_API_URL=http://127.0.0.1:1", "CHARMCRAFT_AUTH=" + exportedAuth(ownerToken, false)}
			res := dockerCmd(t, env, append([]string{"charmcraft", "upload-resource", "my-charm"}, tt.args...)...)
			if res.code != 1 || !strings.Contains(res.stderr, tt.want) || strings.Contains(res.stderr, "127.0.0.1:1") {
				t.Errorf("want a refusal mentioning %s, before any network call: %s", tt.want, res)
			}
			if n := strings.Count(strings.TrimSpace(res.stderr), "\n"); n != 0 {
				t.Errorf("the refusal is %d lines, want one sentence: %s", n+1, res)
			}
		})
	}
}

// TestImageDaemonPushAcrossCharms uploads one tagged image to two charms
// of two accounts in one registry. The daemon's second push would mount
// the blobs from the first charm's repository, which the second charm's
// token may not read: the daemon must still push it, not fall back to an
// export. Docker 28 pushes to a registry off the loopback directly, and
// uploads the blobs the refused mount did not bring. An older daemon
// that reaches the plugin's relay pushes through it, where no mount is
// asked for; one in another network (the namespaced daemons of the
// matrix) pushes to the registry directly: Docker 26's push fails on the
// mount (insufficient_scope) and the image is exported, the upload still
// whole.
func TestImageDaemonPushAcrossCharms(t *testing.T) {
	needContainerdStore(t)
	w := newWorld(t)
	name := "multi-e2e-across:1"
	m := loadMulti(t, 1305, name, false)
	major := daemonMajor(t)
	for _, up := range []struct{ token, charm, resource string }{
		{ownerToken, "my-charm", "my-image"}, {strangerToken, "eve-charm", "img"},
	} {
		res := dockerCmd(t, w.env(up.token), "charmcraft", "upload-resource", up.charm, up.resource, "--image", m.id, "--debug")
		if res.code != 0 || !strings.Contains(res.stderr, "Image uploaded, new remote digest: "+m.id+"\n") {
			t.Fatalf("%s: %s", up.charm, res)
		}
		if strings.Contains(res.stderr, "image pushed by daemon push\n") {
			continue
		}
		i := strings.Index(res.stderr, "image pushed by")
		direct := strings.Contains(res.stderr, "the Docker daemon pushes to "+w.reg.Host+" directly")
		if up.charm == "eve-charm" && direct && major < 28 && strings.Contains(res.stderr, "insufficient_scope") {
			t.Logf("%s: Docker %d, which does not reach the relay, pushed directly and was refused the mount; the image was exported: %s",
				up.charm, major, res.stderr[max(i, 0):])
			continue
		}
		t.Errorf("%s: the daemon (Docker %d) did not push the image: %s", up.charm, major, res.stderr[max(i, 0):])
	}
	w.checkWhole(t, m)
}

// TestImageDaemonPushMountForbidden: a registry that refuses a
// cross-repository mount with 403, where others answer 401, fails a
// Docker 28 push too (containerd retries the upload on 401 only). There
// the plugin's direct push fails, and the relay, which asks for no mount,
// takes the image from a daemon that reaches it; a daemon in a network
// namespace exports it. A daemon that pushes through the relay first asks
// for no mount at all. Either way the upload is whole.
func TestImageDaemonPushMountForbidden(t *testing.T) {
	needContainerdStore(t)
	w := newWorld(t)
	reg := w.countRegistry(t)
	reg.p.Add(faultproxy.Rule{Method: http.MethodPost, Path: "/v2/*/*/*/blobs/uploads/", Query: "mount=", Fault: faultproxy.Fail(http.StatusForbidden)})
	refused := func() int {
		n := 0
		for _, r := range reg.p.Requests() {
			if r.Status == http.StatusForbidden && strings.Contains(r.Query, "mount=") {
				n++
			}
		}
		return n
	}
	m := loadMulti(t, 1306, "multi-e2e-forbidden:1", false)
	u, err := url.Parse(reg.url)
	if err != nil {
		t.Fatal(err)
	}
	directFirst := daemonMajor(t) >= 28 && !transport.Loopback(u.Host)
	for _, up := range []struct{ token, charm, resource string }{
		{ownerToken, "my-charm", "my-image"}, {strangerToken, "eve-charm", "img"},
	} {
		before := refused()
		res := dockerCmd(t, w.env(up.token, "CHARMCRAFT_REGISTRY_URL="+reg.url), "charmcraft", "upload-resource", up.charm, up.resource, "--image", m.id, "--debug")
		if res.code != 0 || !strings.Contains(res.stderr, "Image uploaded, new remote digest: "+m.id+"\n") {
			t.Fatalf("%s: %s", up.charm, res)
		}
		switch mounts := refused() - before; {
		case !directFirst || mounts == 0:
			if !inNetns() && !strings.Contains(res.stderr, "image pushed by daemon push\n") {
				t.Errorf("%s: the daemon did not push the image (%d mounts refused): %s", up.charm, mounts, res)
			}
		case inNetns():
			if !strings.Contains(res.stderr, "daemon push: the direct push failed") || !strings.Contains(res.stderr, "image pushed by export") {
				t.Errorf("%s: %d mounts refused to the direct push; want it said, and the image exported: %s", up.charm, mounts, res)
			}
		case !strings.Contains(res.stderr, "daemon push: the direct push failed") || !strings.Contains(res.stderr, "daemon push: the Docker daemon reached the relay") ||
			!strings.Contains(res.stderr, "image pushed by daemon push\n"):
			t.Errorf("%s: %d mounts refused to the direct push; want it said, and the image pushed through the relay: %s", up.charm, mounts, res)
		}
	}
	// The second charm's push asks to mount the blobs from the first
	// charm's repository: a direct push met the refusal.
	if directFirst && refused() == 0 {
		t.Errorf("no mount was refused: the direct push's fallback went untried")
	}
	w.checkWhole(t, m)
}

// inNetns tells whether the daemon of the tests runs in a network
// namespace of its own (CHARMCRAFT_TEST_NETNS_DAEMONS, from
// scripts/matrix.sh), where this machine's loopback is not its own.
func inNetns() bool {
	host := cmp.Or(os.Getenv("DOCKER_HOST"), "unix:///var/run/docker.sock")
	for _, e := range strings.Split(os.Getenv("CHARMCRAFT_TEST_NETNS_DAEMONS"), ",") {
		if _, h, ok := strings.Cut(e, "="); ok && h == host {
			return true
		}
	}
	return false
}

// daemonMajor is the major version of the daemon of the tests.
func daemonMajor(t *testing.T) int {
	t.Helper()
	out, err := dockerOutput("version", "--format", "{{.Server.Version}}")
	if err != nil {
		t.Fatal(err)
	}
	major, _, _ := strings.Cut(strings.TrimSpace(string(out)), ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		t.Fatalf("the daemon's version %q: %v", out, err)
	}
	return n
}
