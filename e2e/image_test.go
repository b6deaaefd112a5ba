package e2e

import (
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
)

const imageRepo = "charm/charm-id-alice/my-image"

var remoteDigestRE = regexp.MustCompile(`Image (?:uploaded, new|already in Canonical's registry,) remote digest: (sha256:[0-9a-f]{64})`)

// uploadImage runs upload-resource --image and returns the result and the
// remote digest the new revision names ("" if it failed). When the image
// was pushed, that is the digest it printed.
func (w *world) uploadImage(t *testing.T, image string, extraEnv ...string) (result, string) {
	t.Helper()
	res := dockerCmd(t, w.env(ownerToken, extraEnv...), "charmcraft", "upload-resource", "my-charm", "my-image", "--image", image)
	return res, w.remoteOf(t, res)
}

// uploadFirst uploads image, by its short ID, as the resource's first
// revision, and checks the run says so in charmcraft's words; it returns
// the remote digest.
func (w *world) uploadFirst(t *testing.T, image string) string {
	t.Helper()
	res, remote := w.uploadImage(t, image)
	if res.code != 0 || remote == "" {
		t.Fatalf("short ID: %s", res)
	}
	if !strings.Contains(res.stderr, "Remote image not found, uploading from local registry\n") ||
		!strings.Contains(res.stderr, "Image uploaded, new remote digest: "+remote+"\n") {
		t.Errorf("stderr lacks the upload lines: %s", res)
	}
	if res.stdout != "Revision 1 created of resource 'my-image' for charm 'my-charm'\n" {
		t.Errorf("stdout = %q", res.stdout)
	}
	return remote
}

// remoteOf is the remote digest of the revision an upload created, "" if
// it failed; it checks that a digest the upload printed is that one.
func (w *world) remoteOf(t *testing.T, res result) string {
	t.Helper()
	if res.code != 0 {
		return ""
	}
	_, remote, _ := strings.Cut(w.storedImageName(), "@")
	if m := remoteDigestRE.FindStringSubmatch(res.stderr); m != nil && m[1] != remote {
		t.Errorf("the upload printed remote digest %s, but the revision names %s", m[1], remote)
	}
	return remote
}

// storedImageName is the image the last revision of my-image points at,
// "" when none does.
func (w *world) storedImageName() string { return w.hub.ImageName("my-charm", "my-image") }

func TestUploadImageFromDaemon(t *testing.T) {
	needDocker(t)
	w := newWorld(t)
	id := buildImage(t, 1, layerSpec{size: 2 << 20, random: true}, layerSpec{size: 2 << 20, random: false}, layerSpec{size: 10, random: false})
	hex := strings.TrimPrefix(id, "sha256:")

	remote := w.uploadFirst(t, hex[:12])
	p := w.pull(t, imageRepo, remote)
	checkSameImage(t, p, id, remote)
	if len(p.manifest.Layers) != 3 {
		t.Errorf("%d layers, want 3", len(p.manifest.Layers))
	}
	if !containerdStore(t) {
		// The classic store's layers are compressed as charmcraft did.
		if p.mediaType != "application/vnd.docker.distribution.manifest.v2+json" || p.manifest.MediaType != p.mediaType {
			t.Errorf("manifest media type %q / %q", p.mediaType, p.manifest.MediaType)
		}
		if p.manifest.Config.MediaType != "application/vnd.docker.container.image.v1+json" {
			t.Errorf("config media type %q", p.manifest.Config.MediaType)
		}
		for i, l := range p.manifest.Layers {
			if l.MediaType != "application/vnd.docker.image.rootfs.diff.tar.gzip" {
				t.Errorf("layer %d media type %q", i, l.MediaType)
			}
		}
	}
	if got, want := w.storedImageName(), w.reg.Host+"/"+imageRepo+"@"+remote; got != want {
		t.Errorf("revision names %q, want %q", got, want)
	}

	// The same image again, by its full ID: the same remote digest.
	res2, remote2 := w.uploadImage(t, id)
	if res2.code != 0 || remote2 != remote {
		t.Fatalf("second upload: remote digest %q, want %q: %s", remote2, remote, res2)
	}
	if !strings.Contains(res2.stdout, "Revision 2 created") {
		t.Errorf("second upload stdout = %q", res2.stdout)
	}

	// The remote digest: reused from the registry, no daemon needed.
	res3, _ := w.uploadImage(t, remote, "DOCKER_HOST=unix:///nonexistent/docker.sock")
	if res3.code != 0 || !strings.Contains(res3.stderr, "Using the OCI image from Canonical's registry") ||
		strings.Contains(res3.stderr, "uploading") || !strings.Contains(res3.stdout, "Revision 3 created") {
		t.Fatalf("remote digest: %s", res3)
	}
	if got := w.storedImageName(); !strings.HasSuffix(got, "@"+remote) {
		t.Errorf("revision 3 names %q", got)
	}
}

// TestUploadImagePullsBack checks the pushed image with the daemon
// itself: pulling it gives back the same image ID.
func TestUploadImagePullsBack(t *testing.T) {
	needDocker(t)
	w := newWorld(t)
	id := buildImage(t, 2, layerSpec{size: 1 << 20, random: true}, layerSpec{size: 1 << 20, random: false})
	res, remote := w.uploadImage(t, id)
	if res.code != 0 || remote == "" {
		t.Fatalf("%s", res)
	}
	ch, err := charmhub.New(charmhub.WithAPIURL(w.hub.APIURL()), charmhub.WithStorageURL(w.hub.StorageURL()), charmhub.WithToken(ownerToken))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := ch.UploadCredentials(t.Context(), "my-charm", "my-image")
	if err != nil {
		t.Fatal(err)
	}
	cfg := t.TempDir()
	login := exec.Command("docker", "--config", cfg, "login", "-u", creds.Username, "--password-stdin", w.reg.Host)
	login.Stdin = strings.NewReader(creds.Password)
	if out, err := login.CombinedOutput(); err != nil {
		t.Fatalf("docker login: %v\n%s", err, out)
	}
	if out, err := exec.Command("docker", "rmi", "-f", id).CombinedOutput(); err != nil {
		t.Fatalf("docker rmi: %v\n%s", err, out)
	}
	ref := w.reg.Host + "/" + imageRepo + "@" + remote
	if out, err := exec.Command("docker", "--config", cfg, "pull", ref).CombinedOutput(); err != nil {
		t.Fatalf("docker pull %s: %v\n%s", ref, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", ref).Run() })
	out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", ref).Output()
	if err != nil || strings.TrimSpace(string(out)) != id {
		t.Fatalf("pulled image ID %q (%v), want %s", out, err, id)
	}
}

// TestUploadImageByRepoDigest names a local image by the digest another
// registry gave it (a RepoDigests entry), which Canonical's registry does
// not hold.
func TestUploadImageByRepoDigest(t *testing.T) {
	needDocker(t)
	w := newWorld(t)
	id := buildImage(t, 3, layerSpec{size: 1 << 20, random: false})
	other := startPlainRegistry(t)
	ref := other + "/some/app:v1"
	for _, args := range [][]string{{"tag", id, ref}, {"push", ref}} {
		if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
			t.Fatalf("docker %s: %v\n%s", args[0], err, out)
		}
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", ref).Run() })
	out, err := exec.Command("docker", "image", "inspect", "--format", "{{range .RepoDigests}}{{.}} {{end}}", id).Output()
	if err != nil {
		t.Fatal(err)
	}
	_, repoDigest, ok := strings.Cut(strings.TrimSpace(string(out)), "@")
	if !ok {
		t.Fatalf("no RepoDigests after docker push: %q", out)
	}
	res, remote := w.uploadImage(t, repoDigest)
	if res.code != 0 || remote == "" || !strings.Contains(res.stderr, "Remote image not found") {
		t.Fatalf("%s", res)
	}
	checkSameImage(t, w.pull(t, imageRepo, remote), id, remote)
}

func TestUploadImageRefused(t *testing.T) {
	needDocker(t)
	id := buildImage(t, 4, layerSpec{size: 1000, random: false})
	absent := "sha256:" + strings.Repeat("0123456789abcdef", 4)
	noDaemon := "DOCKER_HOST=unix:///nonexistent/docker.sock"
	tests := []struct {
		name     string
		token    string
		resource string
		image    string
		env      []string
		stderr   []string
	}{
		{name: "not found anywhere", token: ownerToken, resource: "my-image", image: absent,
			stderr: []string{"found neither in Canonical's registry for charm 'my-charm' nor in the local Docker daemon"}},
		{name: "short not found", token: ownerToken, resource: "my-image", image: "0123456789ab",
			stderr: []string{"no local image ID starts with 0123456789ab"}},
		{name: "no daemon, short", token: ownerToken, resource: "my-image", image: strings.TrimPrefix(id, "sha256:")[:12], env: []string{noDaemon},
			stderr: []string{"cannot be reached", "full sha256 digest"}},
		{name: "no daemon, long", token: ownerToken, resource: "my-image", image: id, env: []string{noDaemon},
			stderr: []string{"is not in Canonical's registry", "cannot be reached"}},
		{name: "stranger", token: strangerToken, resource: "my-image", image: id,
			stderr: []string{"only the owner or a collaborator of charm 'my-charm'"}},
		{name: "file resource", token: ownerToken, resource: "my-file", image: id,
			stderr: []string{"is a file resource", "--filepath"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			res := dockerCmd(t, w.env(tt.token, tt.env...), "charmcraft", "upload-resource", "my-charm", tt.resource, "--image", tt.image)
			if res.code != 1 || res.stdout != "" {
				t.Errorf("want exit 1 and nothing on stdout")
			}
			for _, s := range tt.stderr {
				if !strings.Contains(res.stderr, s) {
					t.Errorf("stderr lacks %q", s)
				}
			}
			if strings.Contains(res.stderr, "uploading") {
				t.Errorf("it started uploading")
			}
			if strings.Contains(res.stderr, "CHARMCRAFT_UPLOAD_URL") {
				t.Errorf("the error points at Charmhub's settings for a problem that is not theirs")
			}
			if n := len(w.hub.Revisions("my-charm", tt.resource)); n != 0 {
				t.Errorf("%d revisions created", n)
			}
			if n := w.hub.Count("POST", "/storage/unscanned-upload/"); n != 0 {
				t.Errorf("%d storage uploads", n)
			}
			if t.Failed() {
				t.Logf("%s", res)
			}
		})
	}
}

func TestUploadImageJSON(t *testing.T) {
	needDocker(t)
	w := newWorld(t)
	id := buildImage(t, 5, layerSpec{size: 1000, random: false})
	w.hub.SetReview(charmhubtest.ReviewConfig{ScanningPolls: 1})
	res := dockerCmd(t, w.env(ownerToken), "charmcraft", "upload-resource", "my-charm", "my-image", "--image", id, "--format", "json")
	if res.code != 0 {
		t.Fatalf("%s", res)
	}
	remote := w.storedImageName()
	_, pushed, _ := strings.Cut(remote, "@")
	if want := "{\n    \"revision\": 1,\n    \"digest\": \"" + pushed + "\"\n}"; res.code != 0 || pushed == "" || strings.TrimSpace(res.stdout) != want {
		t.Fatalf("want only %s on stdout: %s", want, res)
	}
	if !strings.Contains(res.stderr, "Image uploaded, new remote digest: "+pushed) {
		t.Errorf("progress lines should go to stderr: %s", res)
	}
	// The digest is what --image takes to reuse the image.
	res = dockerCmd(t, w.env(ownerToken, "DOCKER_HOST=unix:///nonexistent/docker.sock"),
		"charmcraft", "upload-resource", "my-charm", "my-image", "--image", pushed, "--format=json")
	if res.code != 0 || strings.TrimSpace(res.stdout) != "{\n    \"revision\": 2,\n    \"digest\": \""+pushed+"\"\n}" || !strings.Contains(res.stderr, "Using the OCI image from Canonical's registry") {
		t.Errorf("reusing the digest: %s", res)
	}
	// -q leaves out the lines that say what is done, charmcraft's included.
	res = dockerCmd(t, w.env(ownerToken), "charmcraft", "upload-resource", "my-charm", "my-image", "--image", id, "-q")
	if res.code != 0 || res.stderr != "" || res.stdout != "Revision 3 created of resource 'my-image' for charm 'my-charm'\n" {
		t.Errorf("-q: want the result alone: %s", res)
	}
}

// TestImageTagHint gives a local tag as --image: the refusal names the
// exact ID to give, which the real daemon tells; completion offers it.
func TestImageTagHint(t *testing.T) {
	needDocker(t)
	w := newWorld(t)
	id := buildImage(t, 6, layerSpec{size: 100, random: false})
	const tag = "charmcraft-e2e-hint:1.0"
	if out, err := exec.Command("docker", "tag", id, tag).CombinedOutput(); err != nil {
		t.Fatalf("docker tag: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", tag).Run() })
	short := strings.TrimPrefix(id, "sha256:")[:12]
	res := dockerCmd(t, w.env(ownerToken), "charmcraft", "upload-resource", "my-charm", "my-image", "--image="+tag)
	if res.code != 1 || !strings.Contains(res.stderr, "includes a tag") || !strings.Contains(res.stderr, "use --image="+short) {
		t.Errorf("want the ID to type: %s", res)
	}
	if n := len(w.hub.Requests()); n != 0 {
		t.Errorf("%d requests to Charmhub for a refused value", n)
	}
	if got := complete(t, "charmcraft", "upload-resource", "my-charm", "my-image", "--image", short[:6]); !slices.Contains(got, short) {
		t.Errorf("--image %s completes to %q, want %s", short[:6], got, short)
	}
}

// startPlainRegistry runs a registry without auth on loopback, as another
// registry the user pushed to.
func startPlainRegistry(t *testing.T) string {
	t.Helper()
	reg, err := registrytestStart()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	return fmt.Sprint(reg.Host)
}
